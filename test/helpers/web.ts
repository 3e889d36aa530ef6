/**
 * A browser of the web page without a browser: a cookie jar, the forms' hidden fields, and taps by a button's
 * label (for tests over HTTP; test/browser/ drives Chromium).
 */
export type PageResponse = { status: number; html: string; headers: Headers };

export function webBrowser(base: string, opts: { address?: string } = {}) {
  const jar = new Map<string, string>();
  let page: PageResponse = { status: 0, html: '', headers: new Headers() };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

  async function request(path: string, init: RequestInit = {}, follow = true): Promise<PageResponse> {
    const headers = new Headers(init.headers);
    if (jar.size) headers.set('cookie', cookie());
    if (opts.address) headers.set('x-forwarded-for', opts.address);
    const res = await fetch(base + path, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [kv] = c.split(';');
      const at = kv!.indexOf('=');
      jar.set(kv!.slice(0, at), kv!.slice(at + 1));
    }
    if (follow && res.status === 303) {
      await res.arrayBuffer();
      return request(res.headers.get('location')!);
    }
    page = { status: res.status, html: await res.text(), headers: res.headers };
    return page;
  }

  const field = (name: string, html = page.html) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? '';
  /** The id of the button whose words begin with `label` on the page shown. */
  function buttonId(label: string, html = page.html): string {
    for (const m of html.matchAll(/<button[^>]*name="c" value="([^"]+)"[^>]*>([\s\S]*?)<\/button>/g)) {
      // (a tick's drawn box and its "chosen" words are not its label)
      const words = m[2]!.replace(/<span class="(box|picked)"[^>]*>[^<]*<\/span>/g, '').replace(/<[^>]+>/g, '').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&').trim();
      if (words.startsWith(label)) return m[1]!;
    }
    throw new Error(`no button "${label}" on the page:\n${text(html)}`);
  }
  /** The page's main words, without markup. */
  function text(html = page.html): string {
    const main = /<main[^>]*>([\s\S]*?)<\/main>/.exec(html)?.[1] ?? html;
    return main
      .replace(/<input type="hidden"[^>]*>/g, '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&')
      .replace(/\s+/g, ' ')
      .trim();
  }

  const self = {
    jar,
    get page() {
      return page;
    },
    text,
    field,
    buttonId,
    open: (path = '/r') => request(path),
    /** Sends the page's form with these fields (the hidden csrf and form id of the page shown, unless given). */
    post(fields: Record<string, string>, extra: { headers?: Record<string, string>; path?: string } = {}): Promise<PageResponse> {
      const body = new URLSearchParams({ csrf: field('csrf'), u: field('u'), ...fields });
      return request(extra.path ?? '/r', { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...(extra.headers ?? {}) } });
    },
    tap: (label: string) => self.post({ c: buttonId(label) }),
    type: (words: string) => self.post({ t: words }),
    /** Sends a file from the photo form. */
    photo(data: Uint8Array, name = 'photo.jpg', type = 'image/jpeg', fields: Record<string, string> = {}): Promise<PageResponse> {
      const form = new FormData();
      form.set('u', fields.u ?? `${field('u')}-p`);
      form.set('photo', new Blob([data], { type }), name);
      // the token is in the form's address: checked before the file is read
      const action = /action="(\/r\/photo\?csrf=[^"]*)"/.exec(page.html)?.[1] ?? '/r/photo';
      return request(fields.csrf !== undefined ? `/r/photo?csrf=${fields.csrf}` : action, { method: 'POST', body: form });
    },
    /** Walks a list of steps: "=words" is typed, anything else is a button's label. */
    async walk(steps: string[]): Promise<PageResponse> {
      for (const s of steps) {
        const r = s.startsWith('=') ? await self.type(s.slice(1)) : await self.tap(s);
        if (r.status !== 200) throw new Error(`"${s}" answered ${r.status}: ${text(r.html)}`);
      }
      return page;
    },
  };
  return self;
}

/** The smallest real PNG: one white pixel. */
export const ONE_PIXEL_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==', 'base64');
