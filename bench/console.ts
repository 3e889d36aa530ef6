/**
 * County console benchmark: `tsx bench/console.ts [--leads N] [--villages V] [--requests R]`.
 *
 * The county of bench:intake (bench/county.ts: N leads, default 300,000, across V villages, default 150; on
 * PostgreSQL when DATABASE_URL is set, its tables emptied first, else a fresh embedded database). A county
 * officer, a township reviewer (first township) and a village cadre (first village) log in as people do: a
 * one-time link as /web makes it, its button pressed, the session cookie kept. The compiled server runs as its
 * own process, started as `npm start` starts it, except that its reminder cron fires once a year: otherwise the
 * first tick would write reminders for every overdue lead of the county (bench:reminders measures that) while the
 * pages are timed.
 *
 * Each page is asked for R times (default 40) after one warm-up, one request at a time on one kept-alive
 * connection, gzip accepted, timed from the request to the last byte: the queue unfiltered, with each filter it
 * offers, all of them together, its second page (the `next` link), as each of the three levels; the home page of
 * each level; R lead pages of the county (officer) and R of the village (cadre), each opened once. Every answer
 * must be 200 and every filter accepted. Bytes: a first visit's HTML plus the stylesheet and scripts it links,
 * as sent (compressed); bodies over 1 KB sent uncompressed are listed in `not_compressed`.
 *
 * Last line, one JSON object: queue_p50_ms / queue_p99_ms (every queue request), home_ms (the county officer's
 * home, p50) and home_p99_ms, lead_p50_ms / lead_p99_ms, queue_kb, home_kb, lead_kb, per filter and per level
 * figures, and ok: whether the aims hold (queue p99 ≤ 100 ms, home ≤ 300 ms, every page ≤ 150 KB). Exit code 0
 * either way; 1 when something broke (a page not 200, a filter refused, the server not starting).
 */
import { rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Agent, request } from 'node:http';
import { flag } from './flags.ts';
import { pct, seedCounty, startServer, TODAY } from './county.ts';
import { createConsoleAuth } from '../server/console/auth.ts';
import { addDays } from '../server/time.ts';

const LEADS = flag('leads', 300_000);
const VILLAGES = flag('villages', 150);
const REQUESTS = flag('requests', 40);
const AIM = { queue_p99_ms: 100, home_ms: 300, page_kb: 150 };
const COUNTY = '530925';

const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; wire: number; body: string; ms: number };

/** One GET (or form POST) on a kept-alive connection, as a browser makes it; `wire` is the body's bytes as sent. */
function call(url: string, opts: { cookie?: string; form?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
    const t0 = performance.now();
    const req = request(
      url,
      {
        method: body ? 'POST' : 'GET',
        agent: keepAlive,
        headers: {
          'accept-encoding': 'gzip',
          ...(opts.cookie ? { cookie: opts.cookie } : {}),
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const ms = performance.now() - t0;
          const raw = Buffer.concat(chunks);
          const text = res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, wire: raw.length, body: text, ms });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const kb = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;

async function main() {
  const { db, env, dir, villages } = await seedCounty({ name: 'console', leads: LEADS, villages: VILLAGES });
  const ownVillage = villages[0]!;
  // three people who joined (as /join makes them), each with a log-in link as /web makes it
  const people = {
    county: { role: 'county_officer', placeCode: COUNTY },
    township: { role: 'township_reviewer', placeCode: ownVillage.township },
    village: { role: 'village_cadre', placeCode: ownVillage.village },
  };
  type Who = keyof typeof people;
  const auth = createConsoleAuth({ db, isActiveStaff: async () => true });
  const links = {} as Record<Who, string>;
  for (const [who, p] of Object.entries(people) as Array<[Who, (typeof people)[Who]]>) {
    const s = await db.prisma.staff.create({
      data: { role: p.role, placeCode: p.placeCode, countyCode: COUNTY, name: `bench ${who}`, channel: 'telegram', userId: `bench-${who}`, chatId: `bench-${who}`, joinedAt: new Date() },
    });
    const link = await auth.issueLink(s.id);
    if (!link.ok) throw new Error(`no log-in link for the ${who} (${link.reason})`);
    links[who] = link.token;
  }
  // leads to open: R + 1 of the county (the first is the warm-up), R + 1 of the cadre's village
  type Row = { id: string; receipt_no: string; head_name: string };
  const countySample = await db.prisma.$queryRaw<Row[]>`
    SELECT id::text, receipt_no, head_name FROM lead WHERE county_code = ${COUNTY} ORDER BY md5(id::text) LIMIT ${REQUESTS + 1}`;
  const villageSample = await db.prisma.$queryRaw<Row[]>`
    SELECT id::text, receipt_no, head_name FROM lead WHERE village_code = ${ownVillage.village} ORDER BY md5(id::text) LIMIT ${REQUESTS + 1}`;
  if (countySample.length < 2 || villageSample.length < 2) throw new Error('too few leads seeded to open lead pages (--leads)');
  await db.close();

  // the reminder cron once a year (31 December 23:59): see the header
  const server = await startServer({ ...env, REMINDER_CRON: '59 23 31 12 *' });
  try {
    const cookies = {} as Record<Who, string>;
    for (const who of Object.keys(links) as Who[]) {
      const r = await call(`${server.url}/console/login`, { form: { t: links[who] } });
      const set = ([] as string[]).concat(r.headers['set-cookie'] ?? []);
      const cookie = set.map((c) => /^fp_console=[^;]+/.exec(c)?.[0]).find(Boolean);
      if (r.status !== 303 || r.headers.location !== '/console' || !cookie) throw new Error(`log-in as the ${who} failed: HTTP ${r.status} ${r.headers.location ?? ''}`);
      cookies[who] = cookie;
    }
    const page = async (path: string, who: Who) => {
      const r = await call(`${server.url}${path}`, { cookie: cookies[who] });
      if (r.status !== 200) throw new Error(`${path} as the ${who}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
      return r;
    };
    /** R timed requests after one warm-up; the last answer for a look at what it found. */
    const measure = async (path: string, who: Who) => {
      let last = await page(path, who);
      const times: number[] = [];
      for (let i = 0; i < REQUESTS; i++) {
        last = await page(path, who);
        times.push(last.ms);
      }
      return { times, last };
    };
    /** What a queue page found: its heading's count and the rows shown; a refused filter is an error. */
    const found = (path: string, a: Answer) => {
      if (/class="notice bad" role="alert"/.test(a.body)) throw new Error(`${path}: the queue did not accept the filter`);
      const count = /<p role="status" class="count">([^<·]*)/.exec(a.body)?.[1]?.trim() ?? '?';
      const rows = a.body.match(/name="ids" value=/g)?.length ?? 0;
      return `${count} (${rows} shown)`;
    };

    // the second page of the unfiltered queue, by the cursor link the first page carries
    const first = await page('/console/leads', 'county');
    const next = /<a href="([^"]+)" rel="next">/.exec(first.body)?.[1]?.replace(/&amp;/g, '&');
    if (!next) throw new Error('the queue has no next page link');
    const one = countySample[1]!;
    const queue: Array<[string, string, Who]> = [
      ['no filter', '/console/leads', 'county'],
      ['stage open', '/console/leads?stage=visited', 'county'],
      ['stage final', '/console/leads?stage=confirmed', 'county'],
      ['township', `/console/leads?township=${villages[1]!.township}`, 'county'],
      ['village', `/console/leads?village=${villages[1]!.village}`, 'county'],
      ['overdue', '/console/leads?overdue=1', 'county'],
      ['category', '/console/leads?category=marginal', 'county'],
      ['hardship', '/console/leads?hardship=illness', 'county'],
      ['received from/to', `/console/leads?from=${addDays(TODAY, -60)}&to=${addDays(TODAY, -30)}`, 'county'],
      ['q receipt number', `/console/leads?q=${encodeURIComponent(one.receipt_no)}`, 'county'],
      ['q head\'s name', `/console/leads?q=${encodeURIComponent(one.head_name)}`, 'county'],
      ['sort received', '/console/leads?sort=received', 'county'],
      ['next page', next, 'county'],
      ['all filters', `/console/leads?stage=received&township=${villages[2]!.township}&village=${villages[2]!.village}&overdue=1&category=marginal&hardship=disability&from=${addDays(TODAY, -200)}&to=${TODAY}`, 'county'],
      ['township: no filter', '/console/leads', 'township'],
      ['village: no filter', '/console/leads', 'village'],
      ['village: overdue', '/console/leads?overdue=1', 'village'],
      ['village: q name', `/console/leads?q=${encodeURIComponent(villageSample[1]!.head_name)}`, 'village'],
    ];
    console.log(`\nconsole pages on ${env.DATABASE_URL ? 'postgres' : 'pglite'}, ${LEADS} leads: ${REQUESTS} sequential requests each after a warm-up (ms, request to last byte on 127.0.0.1)`);
    const head = `${'page'.padEnd(26)} ${'p50'.padStart(7)} ${'p99'.padStart(7)}  found`;
    console.log(head);
    console.log('-'.repeat(head.length + 30));
    const row = (name: string, t: number[], what = '') => console.log(`${name.padEnd(26)} ${pct(t, 50).toFixed(1).padStart(7)} ${pct(t, 99).toFixed(1).padStart(7)}  ${what}`);
    const allQueue: number[] = [];
    const p50ByFilter: Record<string, number> = {};
    const p99ByFilter: Record<string, number> = {};
    for (const [name, path, who] of queue) {
      const { times, last } = await measure(path, who);
      allQueue.push(...times);
      p50ByFilter[name] = pct(times, 50);
      p99ByFilter[name] = pct(times, 99);
      row(`queue: ${name}`, times, found(path, last));
    }
    const home = {} as Record<Who, number[]>;
    for (const who of Object.keys(people) as Who[]) {
      home[who] = (await measure('/console', who)).times;
      row(`home: ${who}`, home[who]);
    }
    const leadTimes: number[] = [];
    for (const [who, sample] of [['county', countySample], ['village', villageSample]] as const) {
      await page(`/console/leads/${sample[0]!.id}`, who); // warm-up, on a lead not timed
      const times: number[] = [];
      for (const l of sample.slice(1)) times.push((await page(`/console/leads/${l.id}`, who)).ms);
      leadTimes.push(...times);
      row(`lead page: ${who}`, times, `${times.length} leads, each opened once`);
    }
    row('queue: all of the above', allQueue);
    row('lead page: all', leadTimes);

    // bytes of a first visit: the page and the assets it links, as sent
    const notCompressed: string[] = [];
    const weight = async (path: string) => {
      const html = await page(path, 'county');
      const parts = [{ what: 'html', bytes: html.wire, enc: String(html.headers['content-encoding'] ?? 'none') }];
      const assets = [...html.body.matchAll(/<(?:script[^>]*\ssrc|link[^>]*\shref)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      for (const a of assets) {
        const r = await call(`${server.url}${a}`);
        if (r.status !== 200) throw new Error(`${a}: HTTP ${r.status}`);
        parts.push({ what: a.slice('/console/assets/'.length), bytes: r.wire, enc: String(r.headers['content-encoding'] ?? 'none') });
      }
      // the compression middleware leaves bodies under 1 KB as they are (its threshold): only larger ones count
      for (const p of parts) {
        const name = p.what === 'html' ? path : p.what;
        if (p.enc === 'none' && p.bytes > 1024 && !notCompressed.includes(name)) notCompressed.push(name);
      }
      return { kb: kb(parts.reduce((n, p) => n + p.bytes, 0)), parts };
    };
    const w = { queue: await weight('/console/leads'), home: await weight('/console'), lead: await weight(`/console/leads/${one.id}`) };
    console.log('\nbytes of a first visit (as sent, KB; content-encoding in brackets)');
    for (const [name, x] of Object.entries(w)) console.log(`${name.padEnd(6)} ${x.kb.toFixed(1).padStart(6)} KB = ${x.parts.map((p) => `${p.what} ${kb(p.bytes)} [${p.enc}]`).join(' + ')}`);

    const queueP99 = pct(allQueue, 99);
    const homeMs = pct(home.county, 50);
    const maxKb = Math.max(w.queue.kb, w.home.kb, w.lead.kb);
    const result = {
      db: env.DATABASE_URL ? 'postgres' : 'pglite',
      leads: LEADS,
      villages: villages.length,
      requests: REQUESTS,
      queue_p50_ms: pct(allQueue, 50),
      queue_p99_ms: queueP99,
      home_ms: homeMs,
      home_p99_ms: pct(home.county, 99),
      home_by_level_ms: Object.fromEntries((Object.keys(home) as Who[]).map((who) => [who, { p50: pct(home[who], 50), p99: pct(home[who], 99) }])),
      lead_p50_ms: pct(leadTimes, 50),
      lead_p99_ms: pct(leadTimes, 99),
      queue_kb: w.queue.kb,
      home_kb: w.home.kb,
      lead_kb: w.lead.kb,
      not_compressed: notCompressed,
      queue_p50_by_filter_ms: p50ByFilter,
      queue_p99_by_filter_ms: p99ByFilter,
      aims: { queue_p99_ms: AIM.queue_p99_ms, home_ms: AIM.home_ms, page_kb: AIM.page_kb },
      ok: queueP99 <= AIM.queue_p99_ms && homeMs <= AIM.home_ms && maxKb <= AIM.page_kb,
    };
    const verdict = (good: boolean) => (good ? 'met' : 'NOT met');
    console.log(
      `\naims: queue p99 ${queueP99} ≤ ${AIM.queue_p99_ms} ms ${verdict(queueP99 <= AIM.queue_p99_ms)}; home p50 ${homeMs} ≤ ${AIM.home_ms} ms ${verdict(homeMs <= AIM.home_ms)}; ` +
        `largest page ${maxKb} ≤ ${AIM.page_kb} KB ${verdict(maxKb <= AIM.page_kb)}`,
    );
    console.log(JSON.stringify(result));
  } finally {
    keepAlive.destroy();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`bench:console failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
