import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, SAMPLE_DEPLOYMENT } from '../../server/config.ts';
import { loadDeployment, type Deployment } from '../../server/deployment.ts';
import { readLocales, tFor } from '../../server/i18n.ts';
import { kfVillageLink, NoVillages, postersHtml, UnknownTownship, VillageNotInTownship, villageLink } from '../../bot/channels/web/posters.ts';

// The village posters of 勐库镇 (530925102) in the sample deployment: one section per village, each with the QR
// code's address of the web page for that village, and of the 微信客服 link only when one is configured.
const deployment = loadDeployment(SAMPLE_DEPLOYMENT);
const MENGKU = deployment.counties[0]!.townships.find((t) => t.code === '530925102')!;
const BASE = 'https://fanpin.example.gov.cn';
const KF = 'https://work.weixin.qq.com/kfid/kfc0123456789abcdef?enc_scene=ENC9Xk%2BZP2&lang=zh';
const sections = (html: string) => [...html.matchAll(/<section class="poster" id="v(\d{12})"[\s\S]*?<\/section>/g)].map((m) => ({ code: m[1]!, html: m[0] }));
const dataUrls = (html: string, kind: 'web' | 'kf') => [...html.matchAll(new RegExp(`<figure class="qr ${kind}" data-url="([^"]+)"`, 'g'))].map((m) => m[1]!.replace(/&amp;/g, '&'));
/** The error a request for posters is refused with. */
const refusal = (p: Promise<string>): Promise<Error> =>
  p.then(
    () => {
      throw new Error('not refused');
    },
    (e: Error) => e,
  );
const words = (lng: 'zh-CN' | 'en', key: string) => String((readLocales()[lng]!.console!.posters as Record<string, unknown>)[key]);

describe('the village posters', () => {
  it('has one A4 section per village of the township, each with its name and its /r?v= address, and no 微信客服 code without the link', async () => {
    const html = await postersHtml({ deployment, township: '530925102', baseUrl: `${BASE}/` });
    expect(MENGKU.villages.length).toBeGreaterThan(10);
    const found = sections(html);
    expect(found.map((s) => s.code)).toEqual(MENGKU.villages.map((v) => v.code));
    for (const [i, v] of MENGKU.villages.entries()) {
      const s = found[i]!.html;
      expect(s).toContain(`>${v.name}</h2>`);
      expect(s).toContain(`data-url="${BASE}/r?v=${v.code}"`);
      expect(s).toContain('<svg role="img"');
      expect(s).toContain('勐库镇');
      expect(s).toContain(tFor('zh-CN', 'console')('posters.line_free'));
    }
    expect(dataUrls(html, 'web')).toEqual(MENGKU.villages.map((v) => `${BASE}/r?v=${v.code}`));
    expect(dataUrls(html, 'kf')).toEqual([]);
    expect(html).not.toContain(tFor('zh-CN', 'console')('posters.either'));
    // print-ready and self-contained: A4, a page per village, nothing loaded from elsewhere
    expect(html).toMatch(/@page \{ size: A4; margin: \d+mm; \}/);
    expect(html).toContain('break-after: page');
    expect(html).toContain('.poster:last-child { break-after: auto; }');
    expect(html).not.toMatch(/<link|src=|@import|url\(/);
    expect(html).toMatch(/^<!doctype html>\n<html lang="zh-CN">/);
    // an address anyone can reach: no warning about a local one
    expect(html).not.toContain('role="alert"');
  });

  it('adds the 微信客服 code with scene_param=v<code>, URL-encoded, keeping the link\'s own query', async () => {
    const html = await postersHtml({ deployment, township: '530925102', baseUrl: BASE, kfLink: KF });
    const kf = dataUrls(html, 'kf');
    expect(kf).toHaveLength(MENGKU.villages.length);
    for (const [i, v] of MENGKU.villages.entries()) {
      expect(kf[i]).toBe(`${KF}&scene_param=v${v.code}`);
      const url = new URL(kf[i]!);
      expect(url.origin + url.pathname).toBe('https://work.weixin.qq.com/kfid/kfc0123456789abcdef');
      expect(url.searchParams.get('enc_scene')).toBe('ENC9Xk+ZP2');
      expect(url.searchParams.get('lang')).toBe('zh');
      expect(url.searchParams.getAll('scene_param')).toEqual([`v${v.code}`]);
    }
    expect(sections(html)[0]!.html).toContain(tFor('zh-CN', 'console')('posters.qr_kf').split('\n')[0]);
    expect(html).toContain(tFor('zh-CN', 'console')('posters.either'));
  });

  it('builds the 微信客服 link from any written form of the account link', () => {
    expect(kfVillageLink('https://work.weixin.qq.com/kfid/kfcabc', '530925102208')).toBe('https://work.weixin.qq.com/kfid/kfcabc?scene_param=v530925102208');
    expect(kfVillageLink('https://work.weixin.qq.com/kfid/kfcabc?', '530925102208')).toBe('https://work.weixin.qq.com/kfid/kfcabc?scene_param=v530925102208');
    // a scene_param already in the link is replaced, the rest kept as written, a fragment stays last
    expect(kfVillageLink('https://work.weixin.qq.com/kfid/kfcabc?scene_param=old&enc_scene=A%2FB#x', '530925102208')).toBe(
      'https://work.weixin.qq.com/kfid/kfcabc?enc_scene=A%2FB&scene_param=v530925102208#x',
    );
    expect(villageLink('https://a.example/sub/', '530925102208')).toBe('https://a.example/sub/r?v=530925102208');
  });

  it('makes only the villages asked for, a township by its name too, and in English when asked', async () => {
    const html = await postersHtml({ deployment, township: '勐库镇', villages: ['530925102212', '530925102208'], baseUrl: BASE, language: 'en' });
    // in the deployment file's order
    expect(sections(html).map((s) => s.code)).toEqual(['530925102208', '530925102212']);
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toContain(tFor('en', 'console')('posters.headline'));
    expect(html).toContain('village posters (2 sheets)');
  });

  it('refuses an unknown township, a village of another township and an empty list, in the locale\'s words', async () => {
    const unknown = postersHtml({ deployment, township: '530925999', baseUrl: BASE });
    await expect(unknown).rejects.toBeInstanceOf(UnknownTownship);
    const e = await refusal(unknown);
    expect(e.message.startsWith(words('zh-CN', 'unknown_township').split('{{')[0]!)).toBe(true);
    expect(e.message).toContain('530925999');
    // it names the townships there are, to pick from
    for (const t of deployment.counties[0]!.townships) expect(e.message).toContain(`${t.code} ${t.name}`);
    const en = await refusal(postersHtml({ deployment, township: 'nowhere', baseUrl: BASE, language: 'en' }));
    expect(en).toBeInstanceOf(UnknownTownship);
    expect(en.message.startsWith(words('en', 'unknown_township').split('{{')[0]!)).toBe(true);

    const stray = await refusal(postersHtml({ deployment, township: '530925102', villages: ['530925101201'], baseUrl: BASE }));
    expect(stray).toBeInstanceOf(VillageNotInTownship);
    expect(stray.message).toBe(tFor('zh-CN', 'console')('posters.village_not_in_township', { code: '530925101201', township: '勐库镇' }));
    await expect(postersHtml({ deployment, township: '530925102', villages: [], baseUrl: BASE })).rejects.toBeInstanceOf(NoVillages);
  });

  it('escapes the names of the deployment file and warns when the address works only on this machine', async () => {
    const odd: Deployment = structuredClone(deployment);
    odd.counties[0]!.townships[1]!.villages[0]!.name = '冰岛<b>&"村';
    const html = await postersHtml({ deployment: odd, township: '530925102', baseUrl: 'http://localhost:3000' });
    expect(html).toContain('冰岛&lt;b&gt;&amp;&quot;村');
    expect(html).not.toContain('<b>');
    expect(html).toContain('role="alert"');
    expect(html).toContain(tFor('zh-CN', 'console')('posters.local_warning', { url: 'http://localhost:3000' }));
  });

  it('keeps its words in locales/: no Chinese in the module\'s code', () => {
    const code = readFileSync(join(REPO_ROOT, 'bot/channels/web/posters.ts'), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    expect(code).not.toMatch(/[\u4e00-\u9fff]/);
  });
});
