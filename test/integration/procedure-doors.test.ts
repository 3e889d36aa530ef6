import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Running } from '../../server/main.ts';
import { createTokens } from '../../server/intake/tokens.ts';
import { publicityMinimumEnd, roleOfScope, STAGES, type Move, type Stage } from '../../server/intake/procedure.ts';
import { createCalendar } from '../../server/calendar.ts';
import { localDate, zonedInstant, addDays } from '../../server/time.ts';
import { TELEGRAM_CAPS } from '../../bot/channels/telegram/index.ts';
import { ACTIONS, DESK_ACTS, type DeskAction } from '../../bot/flows/staff.ts';
import { freshDatabase, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';
import { startFakeBotApi, type FakeApi } from '../fakes/bot-api.ts';
import { startWithTelegram } from '../helpers/telegram.ts';
import { expectedRoles, ORDER } from '../helpers/procedure-table.ts';

// The whole table of the procedure through both doors: every pair of stages, by each level's API token, and
// every desk action tapped (or forged as button data) by each staff role. Allowed moves succeed with the actor
// recorded; refused ones are refused and change nothing.

const V = '530925102208'; // 勐库镇冰岛村
const T1 = '530925102';
const C = '530925';
const NOW = zonedInstant('2026-12-10', '10:00', 'Asia/Shanghai');
const daysAgo = (n: number) => new Date(NOW.getTime() - n * 86_400_000);

type State = { stage: Stage; judgement?: 'fits' | 'does_not_fit' };
const STATES: State[] = STAGES.flatMap((stage): State[] => (stage === 'visited' ? [{ stage, judgement: 'fits' }, { stage, judgement: 'does_not_fit' }] : [{ stage }]));

describe(`the procedure through the API and the desk, ${TEST_DB}`, () => {
  let place: TestPlace;
  let api: FakeApi;
  let app: Running;
  let original = '';
  const tokens = { village: '', township: '', county: '' };
  const tokenIds = { village: '', township: '', county: '' };
  const calendar = createCalendar();

  beforeAll(async () => {
    place = await freshDatabase();
    api = await startFakeBotApi();
    app = await startWithTelegram(place, api, memoryLogger().logger, NOW, { manual: true });
    const t = createTokens(app.db);
    for (const [k, scope] of [['village', { kind: 'village', code: V }], ['township', { kind: 'township', code: T1 }], ['county', { kind: 'county', code: C }]] as const) {
      const made = await t.create(k, scope);
      tokens[k] = made.token;
      tokenIds[k] = made.id;
    }
    original = (await app.intake.receiveLead(newLead({ villageCode: V }), daysAgo(20))).id;
  });
  afterAll(async () => {
    await app.stop();
    await api.close();
    await place.cleanup();
  });

  /** A new lead of village V brought to `state` by the system's own moves on earlier days. */
  async function leadAt(state: State): Promise<string> {
    const { id } = await app.intake.receiveLead(newLead({ villageCode: V }), daysAgo(14));
    const move = async (m: Move, when: Date) => expect((await app.intake.move(id, m, 'system', when)).ok).toBe(true);
    const path: Stage[] = ['assigned', 'visited', 'compared', 'publicized', 'township_reviewed', 'confirmed'];
    const stage = state.stage;
    if (stage === 'received') return id;
    if (stage === 'not_included' || stage === 'duplicate' || stage === 'withdrawn') {
      await move({ to: stage, reason: '测试', duplicateOf: stage === 'duplicate' ? original : undefined }, daysAgo(13));
      return id;
    }
    for (const step of path.slice(0, path.indexOf(stage) + 1)) {
      if (step === 'assigned' && stage !== 'assigned') continue;
      if (step === 'visited') await move({ to: 'visited', judgement: state.judgement ?? 'fits', reason: '收入超过' }, daysAgo(13));
      else if (step === 'publicized') {
        const start = localDate(daysAgo(12), 'Asia/Shanghai');
        await move({ to: 'publicized', publicityStart: start, publicityEnd: publicityMinimumEnd(start, app.config.deployment.procedure, calendar) }, daysAgo(12));
      } else if (step === 'township_reviewed' || step === 'confirmed') await move({ to: step, category: 'marginal' }, daysAgo(1));
      else await move({ to: step }, daysAgo(12));
    }
    return id;
  }

  /** A move to `to` with everything it needs, as an API client would send it today. */
  function body(to: Stage): Move {
    const today = localDate(NOW, 'Asia/Shanghai');
    switch (to) {
      case 'visited':
        return { to, judgement: 'fits' };
      case 'publicized':
        return { to, publicityStart: today, publicityEnd: publicityMinimumEnd(today, app.config.deployment.procedure, calendar) };
      case 'confirmed':
        return { to, category: 'marginal' };
      case 'not_included':
        return { to, reason: '家有公职人员' };
      case 'duplicate':
        return { to, duplicateOf: original };
      default:
        return { to };
    }
  }

  const post = (level: keyof typeof tokens, leadId: string, b: unknown) =>
    request(app.url).post(`/api/v1/leads/${leadId}/events`).set('authorization', `Bearer ${tokens[level]}`).send(b as object);

  it('API: each token level makes exactly the moves of its role, from each stage to each stage', { timeout: 240_000 }, async () => {
    const levels = ['village', 'township', 'county'] as const;
    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const state of STATES) {
      const shared = await leadAt(state); // refused moves change nothing, so they share one lead
      for (const to of STAGES) {
        for (const level of levels) {
          const role = roleOfScope(level);
          const may = ORDER[state.stage].includes(to) && expectedRoles(state.stage, to, state.judgement).includes(role);
          const id = may ? await leadAt(state) : shared;
          const r = await post(level, id, body(to));
          const label = `${state.stage}${state.judgement ? `(${state.judgement})` : ''} → ${to} by ${level}`;
          outcomes.push(`${label}: ${r.status}${r.status >= 400 ? ` ${r.body.error.code}` : ''}`);
          // a role that never makes this move, from any stage, is told so first
          const never = !STAGES.some((from) => expectedRoles(from, to, 'does_not_fit').includes(role) || expectedRoles(from, to, 'fits').includes(role));
          const out = never
            ? '403 not_your_move'
            : !ORDER[state.stage].includes(to)
            ? `409 ${['confirmed', 'not_included', 'duplicate', 'withdrawn'].includes(state.stage) ? 'already_final' : 'move_not_allowed'}`
            : to === 'compared' && state.judgement === 'does_not_fit'
              ? '409 judged_not_fit'
              : may
                ? '201'
                : '403 not_your_move';
          expected.push(`${label}: ${out}`);
          if (may && r.status === 201) {
            expect(r.body.stage).toBe(to);
            const last = r.body.events[r.body.events.length - 1];
            expect(last).toMatchObject({ to, actor: `token:${tokenIds[level]}` });
          }
        }
      }
      // the shared lead is where it was
      const after = await request(app.url).get(`/api/v1/leads/${shared}`).set('authorization', `Bearer ${tokens.county}`);
      expect(after.body.stage).toBe(state.stage);
    }
    expect(outcomes).toEqual(expected);
  });

  it('API: a refused move says who does it, in the caller\'s language', async () => {
    const id = await leadAt({ stage: 'visited', judgement: 'fits' });
    const zh = await post('village', id, { to: 'compared' });
    expect(zh.status).toBe(403);
    expect(zh.body.error).toEqual({ code: 'not_your_move', message: '这一步由县级办理，这个令牌不能办。', details: { roles: ['county_officer'] } });
    const en = await post('village', id, { to: 'not_included', reason: 'x' }).set('accept-language', 'en');
    expect(en.body.error.message).toBe('This step is done by the county; this token cannot do it.');
    // records: follow-ups are the contact person's, never a token's
    const confirmed = await leadAt({ stage: 'confirmed' });
    expect((await post('village', confirmed, { record: 'plan', contactPerson: '王村医' })).status).toBe(201);
    const fu = await post('county', confirmed, { record: 'follow_up' });
    expect(fu.status).toBe(403);
    expect(fu.body.error.details).toEqual({ roles: ['contact_person'] });
    expect((await post('county', confirmed, { record: 'plan', contactPerson: '李' })).status).toBe(403);
  });

  it('desk: each role gets exactly the actions of the role table; forged button data for the rest is refused and changes nothing', { timeout: 240_000 }, async () => {
    let n = 0;
    const turn = (userId: string, input: { kind: 'choice'; id: string } | { kind: 'text'; text: string } | { kind: 'command'; name: string; arg: string }) =>
      app.conversations.turn({ who: { channel: 'telegram', userId, chatId: userId }, platformId: `doors-${++n}`, payload: { n }, input, caps: TELEGRAM_CAPS });
    const staff: Record<string, { user: string; id: string }> = {};
    for (const [role, code] of [['village_cadre', V], ['contact_person', V], ['township_reviewer', T1], ['county_officer', C]] as const) {
      const invite = await app.staff.createInvite(role, code, role, NOW);
      const user = `9${Object.keys(staff).length}`;
      const r = await turn(user, { kind: 'command', name: 'join', arg: invite.code });
      expect(r.replies[0]!.text).toMatch(/加入成功/);
      staff[role] = { user, id: (await app.staff.byIdentity('telegram', user))!.id };
    }
    const stageOf = async (id: string) => (await app.intake.leadWithClocks(id, NOW))!.lead.stage;

    const results: string[] = [];
    const expected: string[] = [];
    type DeskState = State & { contact?: boolean };
    const states: DeskState[] = [...STATES, { stage: 'confirmed', contact: true }];
    const prepare = async (state: DeskState) => {
      const id = await leadAt(state);
      if (state.contact) expect((await app.intake.record(id, 'plan', { contactStaffId: staff.contact_person!.id }, 'system', daysAgo(1))).ok).toBe(true);
      return id;
    };
    for (const state of states) {
      for (const [role, who] of Object.entries(staff)) {
        const shared = await prepare(state); // refused taps change nothing: they share one lead
        for (const action of ACTIONS) {
          const act = DESK_ACTS[action];
          const to = 'move' in act ? act.move : undefined;
          // what the procedure and the role table say this tap should do
          const byRole =
            to !== undefined
              ? ORDER[state.stage].includes(to) && expectedRoles(state.stage, to, state.judgement).includes(role as 'village_cadre')
              : state.stage === 'confirmed' && (action === 'contact' ? role === 'village_cadre' && !state.contact : role === 'contact_person' && Boolean(state.contact));
          const id = byRole ? await prepare(state) : shared;
          let r = await turn(who.user, { kind: 'choice', id: `act:${id}:${action}` });
          if (byRole && (action === 'notfit' || action === 'exclude')) {
            expect(r.replies[0]!.text).toMatch(/请用一句话写明原因/);
            r = await turn(who.user, { kind: 'text', text: '家里有人是公务员' });
          }
          if (action === 'contact' && byRole) {
            expect(r.replies[0]!.buttons?.length).toBe(1); // the village's contact persons to pick from
            r = await turn(who.user, { kind: 'choice', id: `act:${id}:cp0` });
          }
          const done = /✅ 已记录/.test(r.replies[0]?.text ?? '');
          const label = `${role} taps ${action} at ${state.stage}${state.judgement ? `(${state.judgement})` : ''}${state.contact ? '+contact' : ''}`;
          results.push(`${label}: ${done ? 'done' : 'refused'}`);
          expected.push(`${label}: ${byRole ? 'done' : 'refused'}`);
          if (done && to) expect(await stageOf(id)).toBe(to);
        }
        expect(await stageOf(shared)).toBe(state.stage);
      }
      // a contact person forging the picker (naming themselves) is refused
      if (state.stage === 'confirmed' && !state.contact) {
        const id = await prepare(state);
        const r = await turn(staff.contact_person!.user, { kind: 'choice', id: `act:${id}:cp0` });
        expect(r.replies[0]!.text).not.toMatch(/✅/);
        expect((await app.intake.leadWithClocks(id, NOW))!.lead.contactStaffId).toBeNull();
      }
    }
    expect(results).toEqual(expected);
  });
});
