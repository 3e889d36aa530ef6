import type { Running } from '../../server/main.ts';
import { freshDatabase, type TestPlace } from './db.ts';
import { memoryLogger } from './log.ts';
import { startFakeBotApi, telegramPerson, type FakeApi } from '../fakes/bot-api.ts';
import { startWithTelegram } from './telegram.ts';
import { newLead } from './leads.ts';
import type { Actor, NewLead } from '../../server/intake/leads.ts';
import { scopeOf } from '../../server/staff/accounts.ts';

/**
 * A running product with staff who joined through the bot, for the console's tests: a county officer of 530925,
 * a township reviewer of 勐库镇, village cadres of 冰岛村 and 公弄村, and a contact person of 冰岛村. Each asks the
 * bot for a log-in link with /web, as they would.
 */
export const PLACES = { county: '530925', township: '530925102', bingdao: '530925102208', gongnong: '530925102212', mengmeng: '530925101211' };

export async function consoleWorld(clock: () => Date) {
  const place: TestPlace = await freshDatabase();
  const api: FakeApi = await startFakeBotApi();
  const log = memoryLogger();
  const app: Running = await startWithTelegram(place, api, log.logger, clock, { manual: true });
  const webhook = `${app.url}/telegram/webhook`;
  let nextUser = 7000;

  async function join(role: string, placeCode: string, name: string) {
    const person = telegramPerson(webhook, api, nextUser++);
    const { code } = await app.staff.createInvite(role, placeCode, name, clock());
    const r = await person.say(`/join ${code}`);
    const member = await app.staff.byIdentity('telegram', String(person.userId));
    if (!member) throw new Error(`join failed: ${r.texts.join(' / ')}`);
    return {
      ...person,
      id: member.id,
      name,
      /** the member as intake's actor, to bring a lead to a stage before a test */
      actor: { role: member.role, scope: scopeOf(member), staffId: member.id, id: `staff:${member.id}` } as Actor,
      /** asks the bot for a log-in link (/web) and returns it */
      async link(): Promise<string> {
        const reply = await person.say('/web');
        const m = /https?:\/\/\S+\/console\/login\?t=[\w-]+/.exec(reply.texts.join('\n'));
        if (!m) throw new Error(`no link in: ${reply.texts.join(' / ')}`);
        return m[0];
      },
    };
  }

  const officer = await join('county_officer', PLACES.county, '县干部周');
  const reviewer = await join('township_reviewer', PLACES.township, '乡镇审核吴');
  const cadre = await join('village_cadre', PLACES.bingdao, '冰岛村李书记');
  const otherCadre = await join('village_cadre', PLACES.gongnong, '公弄村王主任');
  const contact = await join('contact_person', PLACES.bingdao, '联系人赵');

  return {
    app,
    api,
    log,
    officer,
    reviewer,
    cadre,
    otherCadre,
    contact,
    join,
    async lead(over: Partial<NewLead> = {}, at = clock()) {
      return app.intake.receiveLead(newLead(over), at);
    },
    async close() {
      await app.stop();
      await api.close();
      await place.cleanup();
    },
  };
}

export type ConsoleWorld = Awaited<ReturnType<typeof consoleWorld>>;

export type StaffKey = 'officer' | 'reviewer' | 'cadre' | 'otherCadre' | 'contact';

/** Logs a staff member of the world in as a browser would (the bot's link, the one button) and keeps the cookie and the form token. */
export async function consoleSession(w: ConsoleWorld, who: StaffKey) {
  const token = new URL(await w[who].link()).searchParams.get('t')!;
  const res = await fetch(`${w.app.url}/console/login`, { method: 'POST', body: new URLSearchParams({ t: token }), redirect: 'manual' });
  if (res.status !== 303) throw new Error(`log-in answered ${res.status}`);
  const cookie = /fp_console=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
  const home = await (await fetch(`${w.app.url}/console`, { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(home)![1]!;
  const get = async (path: string) => {
    const r = await fetch(`${w.app.url}/console${path}`, { headers: { cookie }, redirect: 'manual' });
    return { status: r.status, location: r.headers.get('location'), type: r.headers.get('content-type') ?? '', body: Buffer.from(await r.arrayBuffer()) };
  };
  const post = async (path: string, fields: Array<[string, string]> | string, headers: Record<string, string> = {}) => {
    const body = typeof fields === 'string' ? fields : new URLSearchParams([['_csrf', csrf], ...fields]).toString();
    const r = await fetch(`${w.app.url}/console${path}`, { method: 'POST', body, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, redirect: 'manual' });
    return { status: r.status, location: r.headers.get('location'), type: r.headers.get('content-type') ?? '', text: await r.text() };
  };
  const page = async (path: string) => {
    const r = await get(path);
    return { status: r.status, text: r.body.toString('utf8') };
  };
  return { cookie, csrf, get, post, page };
}
