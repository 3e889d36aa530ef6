import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleRouter, type ConsoleDeps } from '../../server/console/routes.ts';
import { createQueries } from '../../server/intake/queries.ts';
import { createExports } from '../../server/intake/export.ts';
import { createTokens } from '../../server/intake/tokens.ts';
import { createCrypto, resolveMasterKey } from '../../server/crypto.ts';
import { tFor } from '../../server/i18n.ts';
import { postersHtml } from '../../bot/channels/web/posters.ts';
import { consoleWorld, PLACES, type ConsoleWorld, type StaffKey } from '../helpers/console.ts';
import { TEST_DB } from '../helpers/db.ts';

// The console's village posters, on routes built here with the poster maker given to the console as its optional
// dependency (server/main.ts wires the same): where the console offers them, and that each person gets only the
// posters of their own place — a village's cadre their village's, a township's reviewer their township's, the
// county officer any township of the county. Without the dependency the console has no posters at all.
const KF = 'https://work.weixin.qq.com/kfid/kfc0123456789abcdef?enc_scene=ENC9XkZP2';
const t = tFor('zh-CN', 'console');
let now = new Date('2026-12-02T03:00:00Z');
let w: ConsoleWorld;
const servers: Server[] = [];
let withPosters: string;
let withoutPosters: string;
const asked: Array<[string, string[] | undefined, string]> = [];

async function serve(deps: ConsoleDeps): Promise<string> {
  const app = express();
  app.use('/console', consoleRouter(deps));
  const server = await new Promise<Server>((ok) => {
    const s = app.listen(0, '127.0.0.1', () => ok(s));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Logs in on one of the console servers here with the link the bot sends, as a browser would; GETs with the cookie. */
async function as(who: StaffKey, base: string) {
  now = new Date(now.getTime() + 150_000); // links are limited to a few in ten minutes a person
  const token = new URL(await w[who].link()).searchParams.get('t')!;
  const res = await fetch(`${base}/console/login`, { method: 'POST', body: new URLSearchParams({ t: token }), redirect: 'manual' });
  expect(res.status).toBe(303);
  const cookie = /fp_console=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
  return async (path: string) => {
    const r = await fetch(`${base}/console${path}`, { headers: { cookie }, redirect: 'manual' });
    return { status: r.status, headers: r.headers, text: await r.text() };
  };
}
const villagesOf = (html: string) => [...html.matchAll(/<section class="poster" id="v(\d{12})"/g)].map((m) => m[1]);
const townshipVillages = (code: string) => w.app.config.deployment.counties[0]!.townships.find((x) => x.code === code)!.villages.map((v) => v.code);

beforeAll(async () => {
  w = await consoleWorld(() => now);
  const { app } = w;
  const key = resolveMasterKey({ configured: app.config.encryptionKey, dataDir: app.config.dataDir, embedded: app.db.kind === 'pglite' }).key;
  const crypto = createCrypto(key);
  const deployment = app.config.deployment;
  const deps: ConsoleDeps = {
    auth: app.consoleAuth,
    intake: app.intake,
    queries: createQueries({ db: app.db, crypto, deployment }),
    exports: createExports({ db: app.db, crypto, deployment }),
    forwarding: app.forwarding,
    staff: app.staff,
    deliveries: app.deliveries,
    tokens: createTokens(app.db),
    deployment,
    logger: w.log.logger,
    baseUrl: () => app.baseUrl,
    now: () => now,
  };
  withPosters = await serve({
    ...deps,
    posters: (township, villages, language) => {
      asked.push([township, villages, language]);
      return postersHtml({ deployment, township, villages, baseUrl: app.baseUrl, kfLink: KF, language });
    },
  });
  withoutPosters = await serve(deps);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  await w?.close();
});

describe(`the console's village posters, ${TEST_DB}`, () => {
  it('are offered on the home page and the blank-village page only when the console has the poster maker', async () => {
    const get = await as('reviewer', withPosters);
    const home = await get('');
    expect(home.status).toBe(200);
    expect(home.text).toContain(`<a href="/console/posters">${t('posters.page.link')}</a>`);
    const blank = await get('/blank');
    // no reports yet: every village of 勐库镇 is blank, and gets a link to its posters
    expect(blank.text).toContain(t('posters.page.blank_link'));
    const link = /href="(\/console\/posters\/print\?township=530925102[^"]*)"/.exec(blank.text)![1]!.replace(/&amp;/g, '&');
    const fromBlank = await get(link.slice('/console'.length));
    expect(fromBlank.status).toBe(200);
    expect(villagesOf(fromBlank.text)).toEqual(townshipVillages(PLACES.township));

    const without = await as('officer', withoutPosters);
    expect((await without('')).text).not.toContain('/console/posters');
    expect((await without('/blank')).text).not.toContain(t('posters.page.blank_link'));
    expect((await without('/posters')).status).toBe(404);
    expect((await without('/posters/print?township=530925102')).status).toBe(404);
  });

  it('the county officer chooses any township of the county, opens or downloads its posters, under a policy that lets only their own style and script run', async () => {
    const get = await as('officer', withPosters);
    const choose = await get('/posters');
    expect(choose.status).toBe(200);
    for (const tw of w.app.config.deployment.counties[0]!.townships) expect(choose.text).toContain(`<option value="${tw.code}">${tw.name}`);
    expect(choose.text).toContain(t('posters.page.download'));

    const r = await get('/posters/print?township=530925101');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect(r.headers.get('content-disposition')).toBeNull();
    expect(villagesOf(r.text)).toEqual(townshipVillages('530925101'));
    expect(r.text).toContain(`${w.app.baseUrl}/r?v=530925101201`);
    expect(r.text).toContain('scene_param=v530925101201');
    const style = /<style>([\s\S]*?)<\/style>/.exec(r.text)![1]!;
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(asked.at(-1)).toEqual(['530925101', undefined, 'zh-CN']);

    const file = await get('/posters/print?township=530925203&download=1');
    expect(file.headers.get('content-disposition')).toBe('attachment; filename="posters-530925203.html"');
    expect(villagesOf(file.text)).toEqual(townshipVillages('530925203'));
    // a township the county does not have, or no township at all
    expect((await get('/posters/print?township=530925999')).status).toBe(404);
    expect((await get('/posters/print')).status).toBe(404);
    expect((await get('/posters/print?township=530925101&village=530925102208')).status).toBe(404);
  });

  it('the township reviewer gets their own township\'s posters, all or one village, and no other township\'s', async () => {
    const get = await as('reviewer', withPosters);
    const choose = await get('/posters');
    expect(choose.text).toContain(`<input type="hidden" name="township" value="${PLACES.township}">`);
    expect(choose.text).toContain(`<option value="${PLACES.bingdao}">冰岛村</option>`);
    expect(choose.text).not.toContain('530925101201');
    expect(villagesOf((await get('/posters/print')).text)).toEqual(townshipVillages(PLACES.township));
    expect(villagesOf((await get(`/posters/print?township=${PLACES.township}&village=`)).text)).toEqual(townshipVillages(PLACES.township));
    expect(villagesOf((await get(`/posters/print?township=${PLACES.township}&village=${PLACES.bingdao}`)).text)).toEqual([PLACES.bingdao]);
    expect((await get('/posters/print?township=530925101')).status).toBe(404);
    expect((await get(`/posters/print?township=${PLACES.township}&village=${PLACES.mengmeng}`)).status).toBe(404);
  });

  it('a village\'s cadre and contact person get their own village\'s poster only', async () => {
    for (const who of ['cadre', 'contact'] as const) {
      const get = await as(who, withPosters);
      const choose = await get('/posters');
      expect(choose.text).toContain(`/console/posters/print?township=${PLACES.township}&amp;village=${PLACES.bingdao}`);
      expect(choose.text).not.toContain('<select');
      // asking for the whole township still gives their village's poster alone
      const own = await get(`/posters/print?township=${PLACES.township}`);
      expect(villagesOf(own.text)).toEqual([PLACES.bingdao]);
      expect(asked.at(-1)).toEqual([PLACES.township, [PLACES.bingdao], 'zh-CN']);
      expect((await get(`/posters/print?township=${PLACES.township}&village=${PLACES.gongnong}`)).status).toBe(404);
      expect((await get('/posters/print?township=530925101')).status).toBe(404);
      const file = await get(`/posters/print?download=1`);
      expect(file.headers.get('content-disposition')).toBe(`attachment; filename="posters-${PLACES.bingdao}.html"`);
    }
  });
});
