import QRCode from 'qrcode';
import { placeIndex, type County, type Deployment, type Township, type Village } from '../../../server/deployment.ts';
import { tFor, type Language } from '../../../server/i18n.ts';

/**
 * The village posters: one A4 page per village of a township, to put up at the village committee, the shop, the
 * village gate. Each carries the village's name large, three plain lines on what to report (and that it is free),
 * and a QR code of the web channel's page for that village (`<base>/r?v=<12-digit code>`); with the 微信客服
 * account's link configured (WECOM_KF_LINK), a second QR code of that link with `scene_param=v<code>`, so the chat
 * knows the village too. One self-contained HTML file: its CSS (and the print button's one line of script) inside,
 * no font or script from elsewhere; print CSS sets A4 and one village a page. Used by `npm run cli -- posters` and
 * by the console (injected there, so the console does not import this channel). Words live in
 * locales/<lng>/console.json under `posters`.
 */

export type PostersOptions = {
  deployment: Deployment;
  /** the township's 9-digit code (or its name, when only one township has it) */
  township: string;
  /** only these villages of the township (12-digit codes), in the deployment's order; undefined: all of them */
  villages?: string[] | undefined;
  /** where people reach the product (PUBLIC_BASE_URL), e.g. https://fanpin.example.gov.cn */
  baseUrl: string;
  /** the 微信客服 account's link (WECOM_KF_LINK); unset: the web page's QR code only */
  kfLink?: string | undefined;
  language?: Language;
};

/** A request for posters that cannot be met; its message is in the request's language, from the locales. */
export class PosterError extends Error {
  constructor(
    readonly code: 'unknown_township' | 'village_not_in_township' | 'no_villages',
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
/** No township of the deployment has that code (or name). */
export class UnknownTownship extends PosterError {
  constructor(message: string) {
    super('unknown_township', message);
  }
}
/** A village code asked for is not a village of the township. */
export class VillageNotInTownship extends PosterError {
  constructor(message: string) {
    super('village_not_in_township', message);
  }
}
/** The township has no villages in the deployment file (or an empty list was asked for). */
export class NoVillages extends PosterError {
  constructor(message: string) {
    super('no_villages', message);
  }
}

/** The web channel's address for a village: what its poster's QR code opens. */
export function villageLink(baseUrl: string, villageCode: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/r?v=${encodeURIComponent(villageCode)}`;
}

/**
 * The 微信客服 link for a village: the account's link with `scene_param=v<code>` (URL-encoded) added to its query.
 * The rest of the query (such as enc_scene) and any fragment are kept as they were written; a scene_param already
 * there is replaced.
 */
export function kfVillageLink(kfLink: string, villageCode: string): string {
  const hashAt = kfLink.indexOf('#');
  const beforeHash = hashAt >= 0 ? kfLink.slice(0, hashAt) : kfLink;
  const hash = hashAt >= 0 ? kfLink.slice(hashAt) : '';
  const q = beforeHash.indexOf('?');
  const path = q >= 0 ? beforeHash.slice(0, q) : beforeHash;
  const kept = q >= 0 ? beforeHash.slice(q + 1).split('&').filter((part) => part !== '' && !/^scene_param(=|$)/i.test(part)) : [];
  return `${path}?${[...kept, `scene_param=${encodeURIComponent(`v${villageCode}`)}`].join('&')}${hash}`;
}

/** The township and the villages the posters are for; throws a PosterError in words when they cannot be. */
export function posterVillages(
  deployment: Deployment,
  township: string,
  villages?: string[] | undefined,
  language: Language = 'zh-CN',
): { county: County; township: Township; villages: Village[] } {
  const t = tFor(language, 'console');
  const places = placeIndex(deployment);
  const wanted = township.trim();
  const found = places.townships.get(wanted) ?? onlyOne([...places.townships.values()].filter((x) => x.township.name === wanted));
  if (!found) {
    const choices = [...places.townships.values()].map((x) => t('posters.township_choice', { code: x.township.code, name: x.township.name })).join(t('posters.list_separator'));
    throw new UnknownTownship(t('posters.unknown_township', { code: wanted, choices }));
  }
  let chosen = found.township.villages;
  if (villages !== undefined) {
    const own = new Set(chosen.map((v) => v.code));
    const stray = villages.find((code) => !own.has(code));
    if (stray !== undefined) throw new VillageNotInTownship(t('posters.village_not_in_township', { code: stray, township: found.township.name }));
    const asked = new Set(villages);
    chosen = chosen.filter((v) => asked.has(v.code));
  }
  if (chosen.length === 0) throw new NoVillages(t('posters.no_villages', { township: found.township.name }));
  return { county: found.county, township: found.township, villages: chosen };
}

const onlyOne = <T>(list: T[]): T | undefined => (list.length === 1 ? list[0] : undefined);

/** Text with its line breaks (a locale may say where a long line should break on paper) as <br>. */
const lines = (s: string) => s.split('\n').map(esc).join('<br>');

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** A QR code as inline SVG, with its white quiet zone (4 modules, as the standard asks) and an accessible name. */
async function qrSvg(text: string, label: string): Promise<string> {
  const svg = await QRCode.toString(text, { type: 'svg', margin: 4, errorCorrectionLevel: 'M', color: { dark: '#000000', light: '#ffffff' } });
  return svg.replace('<svg ', `<svg role="img" aria-label="${esc(label)}" focusable="false" `);
}

/** How large the village's name is set: long names a size smaller, so each fits on one line of the sheet. */
const nameSize = (name: string) => {
  const n = [...name].length;
  return n <= 5 ? 'n5' : n <= 7 ? 'n7' : n <= 10 ? 'n10' : 'n14';
};

const isLocal = (baseUrl: string) => {
  try {
    const host = new URL(baseUrl).hostname;
    return host === 'localhost' || host === '[::1]' || host.startsWith('127.') || host === '0.0.0.0';
  } catch {
    return false;
  }
};

/** The posters of a township's villages (or of some of them) as one printable HTML document. */
export async function postersHtml(opts: PostersOptions): Promise<string> {
  const lng: Language = opts.language ?? 'zh-CN';
  const t = tFor(lng, 'console');
  const { county, township, villages } = posterVillages(opts.deployment, opts.township, opts.villages, lng);
  const title = t('posters.title', { township: township.name, count: villages.length });

  const sheets = await Promise.all(
    villages.map(async (v) => {
      const web = villageLink(opts.baseUrl, v.code);
      const kf = opts.kfLink ? kfVillageLink(opts.kfLink, v.code) : undefined;
      const codes = [
        `<figure class="qr web" data-url="${esc(web)}"><div class="code">${await qrSvg(web, t('posters.qr_web_label', { village: v.name }))}</div><figcaption>${lines(t(kf ? 'posters.qr_web_both' : 'posters.qr_web'))}</figcaption></figure>`,
        ...(kf
          ? [`<figure class="qr kf" data-url="${esc(kf)}"><div class="code">${await qrSvg(kf, t('posters.qr_kf_label', { village: v.name }))}</div><figcaption>${lines(t('posters.qr_kf'))}</figcaption></figure>`]
          : []),
      ];
      return `<section class="poster" id="v${v.code}" data-village="${v.code}" aria-labelledby="n${v.code}">
<p class="where">${esc(t('posters.where', { county: county.name, township: township.name }))}</p>
<h2 class="name ${nameSize(v.name)}" id="n${v.code}">${esc(v.name)}</h2>
<p class="headline">${esc(t('posters.headline'))}</p>
<ul class="lines">
${['line_hardship', 'line_free', 'line_visit'].map((k) => `<li>${lines(t(`posters.${k}`))}</li>`).join('\n')}
</ul>
${kf ? `<p class="either">${esc(t('posters.either'))}</p>\n` : ''}<div class="codes${kf ? ' two' : ''}">
${codes.join('\n')}
</div>
<div class="foot">
<p class="help">${esc(t('posters.no_phone'))}</p>
<p class="addr">${esc(t('posters.address', { url: web }))}</p>
</div>
</section>`;
    }),
  );

  return `<!doctype html>
<html lang="${lng}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="toolbar">
<h1>${esc(title)}</h1>
<p>${esc(t('posters.print_hint'))}</p>
${isLocal(opts.baseUrl) ? `<p class="warn" role="alert">${esc(t('posters.local_warning', { url: opts.baseUrl }))}</p>\n` : ''}<button type="button" data-print>${esc(t('posters.print'))}</button>
</header>
<main>
${sheets.join('\n')}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** The print button: the browser's print dialog (A4 and the margins are set by the page's CSS). */
const SCRIPT = "document.querySelector('[data-print]').addEventListener('click', function () { window.print(); });";

// A4 portrait, 12 mm margins: 186 × 273 mm for each sheet's content. Black on white, a heavy CJK sans the viewer's
// machine has (nothing downloaded). On screen: white sheets on a grey desk; narrow screens: one column, no fixed size.
const CSS = `
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #d4d4d4; color: #000;
  font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei", "SimHei", "Heiti SC", sans-serif; }
.toolbar { display: flex; flex-wrap: wrap; gap: 8px 20px; align-items: center; padding: 12px 20px; background: #1d3557; color: #fff; font-size: 16px; line-height: 1.5; }
.toolbar h1 { font-size: 20px; margin: 0; }
.toolbar p { margin: 0; }
.toolbar .warn { flex-basis: 100%; padding: 6px 10px; background: #fff3cd; color: #000; border-left: 6px solid #b45309; }
.toolbar button { font: inherit; font-size: 18px; min-height: 44px; padding: 6px 28px; background: #fff; color: #1d3557; border: 0; border-radius: 4px; cursor: pointer; }
.toolbar button:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
.poster { display: flex; flex-direction: column; width: 210mm; height: 297mm; margin: 10mm auto; padding: 12mm; background: #fff; box-shadow: 0 1mm 4mm rgba(0, 0, 0, .35); overflow: hidden; text-align: center; }
.where { margin: 0; padding-bottom: 3mm; border-bottom: 1.2mm solid #000; font-size: 17pt; line-height: 1.35; }
.name { margin: 6mm 0 2mm; font-weight: 900; line-height: 1.1; letter-spacing: .06em; white-space: nowrap; }
.name.n5 { font-size: 76pt; }
.name.n7 { font-size: 60pt; }
.name.n10 { font-size: 44pt; }
.name.n14 { font-size: 32pt; white-space: normal; }
.headline { margin: 2mm 0 5mm; font-size: 32pt; font-weight: 700; line-height: 1.25; }
.lines { list-style: none; margin: 0 auto; padding: 4mm 5mm; border: .8mm solid #000; border-radius: 3mm; text-align: left; font-size: 21pt; font-weight: 700; line-height: 1.35; }
.lines li { position: relative; padding-left: 10mm; margin: 1.5mm 0; }
.lines li::before { content: ""; position: absolute; left: 1mm; top: .42em; width: 0; height: 0; border: 2.2mm solid #000; border-radius: 50%; }
.either { margin: 5mm 0 0; font-size: 16pt; font-weight: 700; }
.codes { flex: 1; display: flex; flex-wrap: wrap; justify-content: center; align-content: center; align-items: flex-start; gap: 10mm; }
.qr { margin: 0; width: 96mm; }
.codes.two .qr { width: 86mm; }
.code svg { display: block; width: 100%; height: auto; }
.qr figcaption { margin-top: 1mm; font-size: 17pt; font-weight: 700; line-height: 1.3; }
.foot { padding-top: 3mm; border-top: .5mm solid #000; font-size: 14pt; line-height: 1.4; }
.foot p { margin: 0; }
.foot .addr { font-size: 11pt; font-family: "DejaVu Sans Mono", Consolas, Menlo, monospace; overflow-wrap: anywhere; }
/* English words run longer than Chinese ones: a size smaller, so a sheet still holds them */
html[lang="en"] .headline { font-size: 26pt; }
html[lang="en"] .lines { font-size: 17pt; }
html[lang="en"] .qr figcaption { font-size: 14pt; }
html[lang="en"] .either { font-size: 14pt; }
html[lang="en"] .foot { font-size: 12pt; }
@media print {
  body { background: #fff; }
  .toolbar { display: none; }
  .poster { width: auto; height: 272mm; margin: 0; padding: 0; box-shadow: none; break-after: page; break-inside: avoid; }
  .poster:last-child { break-after: auto; }
}
@media screen and (max-width: 820px) {
  .poster { width: auto; height: auto; margin: 8px; padding: 16px 12px; overflow: visible; }
  .name { white-space: normal; }
  .name.n5 { font-size: min(15vw, 60pt); }
  .name.n7 { font-size: min(11vw, 60pt); }
  .name.n10 { font-size: min(8vw, 44pt); }
  .name.n14 { font-size: min(7vw, 32pt); }
  .headline { font-size: 24px; }
  .lines { font-size: 19px; }
  .lines li { padding-left: 24px; }
  .lines li::before { border-width: 6px; }
  .lines br, .qr br { display: none; }
  .codes, .codes.two { flex-direction: column; gap: 20px; margin-top: 16px; }
  .qr, .codes.two .qr { width: 100%; max-width: 360px; }
  .qr figcaption { font-size: 18px; }
  .either { font-size: 18px; }
  .foot { margin-top: 16px; font-size: 16px; }
}
`;
