import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

/**
 * A PDF read back as a reader would see it: each page's size in points (A4 is 595 × 842) and its text layer,
 * whole and as lines (the pieces at one height, left to right), with Mozilla's pdf.js.
 */
export async function readPdf(data: Uint8Array | Buffer) {
  const doc = await getDocument({ data: new Uint8Array(data), useSystemFonts: false, isEvalSupported: false }).promise;
  const pages: Array<{ size: { width: number; height: number }; text: string; lines: string[] }> = [];
  for (let n = 1; n <= doc.numPages; n++) {
    const page = await doc.getPage(n);
    const [x0, y0, x1, y1] = page.view as [number, number, number, number];
    const content = await page.getTextContent();
    const rows = new Map<number, Array<{ x: number; s: string }>>();
    for (const item of content.items) {
      if (!('str' in item) || item.str === '') continue;
      const y = Math.round(item.transform[5] as number);
      const row = rows.get(y) ?? [];
      row.push({ x: item.transform[4] as number, s: item.str });
      rows.set(y, row);
    }
    const lines = [...rows.entries()]
      .sort((a, b) => b[0] - a[0])
      .map(([, row]) => row.sort((a, b) => a.x - b.x).map((r) => r.s).join(' ').replace(/\s+/g, ' ').trim());
    pages.push({ size: { width: Math.round(x1 - x0), height: Math.round(y1 - y0) }, text: lines.join('\n'), lines });
  }
  await doc.destroy();
  return { pages };
}
