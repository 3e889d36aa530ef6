import { describe, expect, it } from 'vitest';
import { BUTTON_ID_MAX_BYTES, buttons, isStale, readButton, STALE, type Codec, type Family } from '../../bot/buttons.ts';
import { ACTIONS, type DeskAction } from '../../bot/flows/staff.ts';
import { selfReportFlow } from '../../bot/flows/selfreport.ts';
import { kfMessages } from '../../bot/channels/wecom/index.ts';
import { makeEngineContext, placeTree, type Row, type Turn } from '../../bot/conversation.ts';
import { createScreens, type Converse } from '../../bot/screens.ts';
import { emptyState } from '../../bot/engine/types.ts';
import type { Intake } from '../../server/intake/leads.ts';
import { begin, handle } from '../../bot/engine/engine.ts';
import { loadDeployment } from '../../server/deployment.ts';
import { SAMPLE_DEPLOYMENT } from '../../server/config.ts';
import { tFor } from '../../server/i18n.ts';

const LEAD = '3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';
/** The widest lead id there is (a UUID is always 36 characters). */
const WIDEST = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const codecOf = (f: Family) => buttons[f] as unknown as Codec<object>;

/** A value of every family, with the id it is sent as: readable, versioned. */
const EXAMPLES: Array<{ family: Family; value: object; id: string }> = [
  { family: 'tasks', value: { page: 0 }, id: '2.tasks.0' },
  { family: 'tasks', value: { page: 12 }, id: '2.tasks.12' },
  { family: 'lead', value: { leadId: LEAD }, id: `2.lead.${LEAD}` },
  { family: 'act', value: { leadId: LEAD, action: 'pub0' }, id: `2.act.${LEAD}.publicize_today` },
  { family: 'act', value: { leadId: LEAD, action: 'pub1' }, id: `2.act.${LEAD}.publicize_tomorrow` },
  { family: 'act', value: { leadId: LEAD, action: 'notfit' }, id: `2.act.${LEAD}.does_not_fit` },
  { family: 'act', value: { leadId: LEAD, action: 'fu' }, id: `2.act.${LEAD}.follow_up` },
  { family: 'act', value: { leadId: LEAD, action: 'elim' }, id: `2.act.${LEAD}.risk_eliminated` },
  { family: 'act', value: { leadId: LEAD, action: 'contact' }, id: `2.act.${LEAD}.name_contact_person` },
  { family: 'act', value: { leadId: LEAD, action: 'cat_marginal' }, id: `2.act.${LEAD}.cat_marginal` },
  { family: 'pick_contact', value: { leadId: LEAD, index: 0 }, id: `2.pick_contact.${LEAD}.0` },
  { family: 'pick_contact', value: { leadId: LEAD, index: 19 }, id: `2.pick_contact.${LEAD}.19` },
  { family: 'desk', value: { what: 'skip' }, id: '2.desk.skip' },
  { family: 'desk', value: { what: 'web' }, id: '2.desk.web' },
  { family: 'start', value: { what: 'new' }, id: '2.start.new' },
  { family: 'start', value: { what: 'language' }, id: '2.start.language' },
  { family: 'start', value: { what: 'menu' }, id: '2.start.menu' },
  { family: 'withdraw', value: { leadId: LEAD }, id: `2.withdraw.${LEAD}` },
  { family: 'withdraw', value: { answer: 'keep' }, id: '2.withdraw.keep' },
  { family: 'withdraw', value: { answer: 'yes' }, id: '2.withdraw.yes' },
  { family: 'nav', value: { to: 'back' }, id: '2.nav.back' },
  { family: 'nav', value: { to: 'township' }, id: '2.nav.township' },
  { family: 'summary', value: { answer: 'ok' }, id: '2.summary.ok' },
  { family: 'edit', value: { step: 'householdSize' }, id: '2.edit.householdSize' },
  { family: 'consent', value: { answer: 'yes' }, id: '2.consent.yes' },
  { family: 'cancel', value: { answer: 'no' }, id: '2.cancel.no' },
  { family: 'cancel', value: { answer: 'delete' }, id: '2.cancel.delete' },
  { family: 'details', value: { what: 'now', leadId: LEAD }, id: `2.details.now.${LEAD}` },
  { family: 'details', value: { what: 'later' }, id: '2.details.later' },
  { family: 'option', value: { step: 'risks', option: 'business_failure' }, id: '2.option.risks.business_failure' },
  { family: 'option', value: { step: 'housingUnsafe', option: 'yes' }, id: '2.option.housingUnsafe.yes' },
  { family: 'township', value: { code: '530925102' }, id: '2.township.530925102' },
  { family: 'village', value: { code: '530925102208' }, id: '2.village.530925102208' },
];

/** Ids of buttons sent before the version marker (still in people's chats), and what they carry. */
const V1: Array<{ id: string; read: object }> = [
  { id: 'tasks:0', read: { family: 'tasks', page: 0 } },
  { id: 'tasks:9999', read: { family: 'tasks', page: 9999 } },
  { id: `lead:${LEAD}`, read: { family: 'lead', leadId: LEAD } },
  ...ACTIONS.map((a) => ({ id: `act:${LEAD}:${a}`, read: { family: 'act', leadId: LEAD, action: a } })),
  { id: `act:${LEAD}:cp0`, read: { family: 'pick_contact', leadId: LEAD, index: 0 } },
  { id: `act:${LEAD}:cp19`, read: { family: 'pick_contact', leadId: LEAD, index: 19 } },
  { id: 'desk:skip', read: { family: 'desk', what: 'skip' } },
  { id: 'desk:web', read: { family: 'desk', what: 'web' } },
  { id: 'start:new', read: { family: 'start', what: 'new' } },
  { id: 'start:resume', read: { family: 'start', what: 'resume' } },
  { id: 'start:status', read: { family: 'start', what: 'status' } },
  { id: 'start:lang', read: { family: 'start', what: 'language' } },
  { id: 'start:menu', read: { family: 'start', what: 'menu' } },
  { id: `wd:${LEAD}`, read: { family: 'withdraw', leadId: LEAD } },
  { id: 'wd:keep', read: { family: 'withdraw', answer: 'keep' } },
  { id: 'wd:yes', read: { family: 'withdraw', answer: 'yes' } },
  { id: 'wd:no', read: { family: 'withdraw', answer: 'no' } },
  ...['back', 'skip', 'more', 'done', 'summary', 'township'].map((to) => ({ id: `nav:${to}`, read: { family: 'nav', to } })),
  { id: 'sum:ok', read: { family: 'summary', answer: 'ok' } },
  { id: 'sum:edit', read: { family: 'summary', answer: 'edit' } },
  { id: 'edit:householdSize', read: { family: 'edit', step: 'householdSize' } },
  { id: 'consent:yes', read: { family: 'consent', answer: 'yes' } },
  { id: 'consent:no', read: { family: 'consent', answer: 'no' } },
  { id: 'cancel:yes', read: { family: 'cancel', answer: 'yes' } },
  { id: 'cancel:no', read: { family: 'cancel', answer: 'no' } },
  { id: 'o:risks:illness', read: { family: 'option', step: 'risks', option: 'illness' } },
  { id: 'o:householdAgrees:no', read: { family: 'option', step: 'householdAgrees', option: 'no' } },
  { id: 'tw:530925102', read: { family: 'township', code: '530925102' } },
  { id: 'vl:530925102208', read: { family: 'village', code: '530925102208' } },
];

describe('button ids: one codec per family', () => {
  it('encodes each family readably, with the version first, and reads it back as the same value', () => {
    for (const { family, value, id } of EXAMPLES) {
      expect(codecOf(family).encode(value), family).toBe(id);
      expect(codecOf(family).decode(id), id).toEqual(value);
      expect(readButton(id), id).toEqual({ ...value, family });
    }
    // every family has an example
    expect(new Set(EXAMPLES.map((e) => e.family))).toEqual(new Set(Object.keys(buttons)));
  });

  it('gives every desk action its own readable name, and reads each back as that action', () => {
    const names = new Set<string>();
    for (const action of ACTIONS) {
      const id = buttons.act.encode({ leadId: LEAD, action });
      const name = id.slice(`2.act.${LEAD}.`.length);
      expect(name).toMatch(/^[a-z]+(?:_[a-z]+)*$/);
      names.add(name);
      expect(readButton(id)).toEqual({ family: 'act', leadId: LEAD, action });
    }
    expect(names.size).toBe(ACTIONS.length);
    // the names that were codes are words now
    for (const code of ['pub0', 'pub1', 'fu', 'elim', 'notfit']) expect([...names]).not.toContain(code);
  });

  it('reads the ids of buttons sent before the version marker (version 1) as the values they carried', () => {
    for (const { id, read } of V1) expect(readButton(id), id).toEqual(read);
    // the same values as today's ids carry
    for (const { id, read } of V1) {
      const { family, ...value } = read as { family: Family };
      expect(readButton(codecOf(family).encode(value)), id).toEqual(read);
    }
  });

  it('passes a version-1 lead id on as it came, for the desk to check (as it always did)', () => {
    expect(readButton('lead:13800138000-aaaa-bbbb-cccc-ddddeeeeffff')).toEqual({ family: 'lead', leadId: '13800138000-aaaa-bbbb-cccc-ddddeeeeffff' });
    expect(readButton('act:zzzzzzzz-1380-0138-0000-000000000000:compared')).toEqual({ family: 'act', leadId: 'zzzzzzzz-1380-0138-0000-000000000000', action: 'compared' });
    // today's ids take nothing but a UUID
    expect(readButton('2.lead.13800138000-aaaa-bbbb-cccc-ddddeeeeffff')).toBe(STALE);
  });

  it('recognises an unknown, garbled, or other-version id as stale', () => {
    const stale = [
      '',
      'hello',
      '2',
      '2.',
      '2.unknown',
      '2.unknown.x',
      '2.tasks',
      '2.tasks.',
      '2.tasks.x',
      '2.tasks.-1',
      '2.tasks.1234567',
      '2.tasks.1.2',
      '02.tasks.1',
      '1.tasks.1',
      '3.tasks.1',
      '10.act.' + LEAD + '.fits',
      `3.act.${LEAD}.fits`,
      `2.act.${LEAD}`,
      `2.act.${LEAD}.pub0`, // a version-1 name is not one of today's
      `2.act.${LEAD}.publicize_someday`,
      `2.act.${LEAD}.fits.extra`,
      '2.act.not-a-uuid.fits',
      `2.lead.${LEAD}.x`,
      `2.lead.${LEAD.toUpperCase()}x`,
      `2.pick_contact.${LEAD}.100`,
      '2.desk.nothing',
      '2.start.lang', // version 1 said lang; today's name is language
      '2.nav.sideways',
      '2.option.risks',
      '2.option.risks.a.b',
      '2.option.risks.illness\n',
      'tasks:',
      'tasks:x',
      'tasks:12345',
      'lead:',
      'act:',
      `act:${LEAD}`,
      `act:${LEAD}:publicize`,
      `act:${LEAD}:cp123`,
      `act:${LEAD}:fits:more`,
      'desk:other',
      'start:withdraw',
      'start:new 13800138000',
      'wd:',
      'nav:sideways',
      'sum:maybe',
      'consent:maybe',
      'cancel:',
      'edit:',
      'o:',
      'o:risks',
      'tw:',
      'vl:',
    ];
    for (const id of stale) {
      const read = readButton(id);
      expect(isStale(read), JSON.stringify(id)).toBe(true);
      expect(read.family, JSON.stringify(id)).toBeUndefined();
    }
  });

  it('says which family an id is of: its own family reads it (or finds it stale), the others leave it', () => {
    expect(buttons.act.decode(`3.act.${LEAD}.fits`)).toBe(STALE);
    expect(buttons.act.decode(`act:${LEAD}:bogus`)).toBe(STALE);
    expect(buttons.act.decode(`2.lead.${LEAD}`)).toBeUndefined();
    expect(buttons.act.decode(`act:${LEAD}:cp3`)).toBeUndefined(); // the picker's
    expect(buttons.pick_contact.decode(`act:${LEAD}:fits`)).toBeUndefined();
    expect(buttons.lead.decode('2.tasks.0')).toBeUndefined();
    expect(buttons.lead.decode('2.lead.x')).toBe(STALE);
    expect(buttons.nav.decode('o:risks:illness')).toBeUndefined();
    expect(buttons.tasks.decode('tasks:x')).toBe(STALE);
  });

  it('keeps every id within 64 bytes, the worst case of each family included', () => {
    const long = 'x'.repeat(24);
    const worst: Array<[Family, object]> = [
      ['tasks', { page: 999_999 }],
      ['lead', { leadId: WIDEST }],
      ...ACTIONS.map((action): [Family, object] => ['act', { leadId: WIDEST, action }]),
      ['pick_contact', { leadId: WIDEST, index: 99 }],
      ['desk', { what: 'skip' }],
      ['desk', { what: 'web' }],
      ...(['new', 'resume', 'status', 'language', 'menu'] as const).map((what): [Family, object] => ['start', { what }]),
      ['withdraw', { leadId: WIDEST }],
      ['withdraw', { answer: 'keep' }],
      ...(['back', 'skip', 'more', 'done', 'summary', 'township'] as const).map((to): [Family, object] => ['nav', { to }]),
      ['summary', { answer: 'edit' }],
      ['edit', { step: long }],
      ['consent', { answer: 'yes' }],
      ['cancel', { answer: 'yes' }],
      ['cancel', { answer: 'delete' }],
      ['details', { what: 'now', leadId: WIDEST }],
      ['details', { what: 'later' }],
      ['option', { step: long, option: long }],
      ['township', { code: long }],
      ['village', { code: long }],
    ];
    expect(new Set(worst.map(([f]) => f))).toEqual(new Set(Object.keys(buttons)));
    for (const [family, value] of worst) {
      const id = codecOf(family).encode(value);
      expect(bytes(id), id).toBeLessThanOrEqual(BUTTON_ID_MAX_BYTES);
      expect(readButton(id), id).toEqual({ ...value, family });
    }
    // the longest there is: a category on a lead's card
    const longest = Math.max(...ACTIONS.map((action) => bytes(buttons.act.encode({ leadId: WIDEST, action }))));
    expect(longest).toBeLessThanOrEqual(BUTTON_ID_MAX_BYTES);
  });

  it('fits every choice of the self-report, and every place of the sample deployment', () => {
    const t = tFor('zh-CN', 'bot');
    const ctx = { t: (k: string, p?: Record<string, unknown>) => t(k, p ?? {}), now: new Date('2026-11-24T02:00:00Z') };
    const answers = [{ reporter: 'family' }, { reporter: 'other' }, {}];
    for (const step of selfReportFlow.steps) {
      expect(bytes(buttons.edit.encode({ step: step.id }))).toBeLessThanOrEqual(BUTTON_ID_MAX_BYTES);
      const options = step.kind === 'yesno' || step.kind === 'notice' ? ['yes', 'no'] : answers.flatMap((a) => step.options?.(ctx, a).map((o) => o.id) ?? []);
      for (const option of options) {
        const id = buttons.option.encode({ step: step.id, option });
        expect(bytes(id), id).toBeLessThanOrEqual(BUTTON_ID_MAX_BYTES);
        expect(readButton(id)).toEqual({ family: 'option', step: step.id, option });
      }
    }
    for (const county of loadDeployment(SAMPLE_DEPLOYMENT).counties)
      for (const tw of county.townships) {
        expect(readButton(buttons.township.encode({ code: tw.code }))).toEqual({ family: 'township', code: tw.code });
        for (const v of tw.villages) expect(readButton(buttons.village.encode({ code: v.code }))).toEqual({ family: 'village', code: v.code });
      }
  });

  it('refuses to encode a value that would not fit or would not read back', () => {
    const refused: Array<[Family, object]> = [
      ['tasks', { page: 1_000_000 }],
      ['tasks', { page: -1 }],
      ['tasks', { page: 1.5 }],
      ['lead', { leadId: 'not-a-uuid' }],
      ['lead', { leadId: `${LEAD}.x` }],
      ['act', { leadId: LEAD, action: 'dance' as DeskAction }],
      ['act', { leadId: 'x', action: 'fits' }],
      ['pick_contact', { leadId: LEAD, index: 100 }],
      ['start', { what: 'withdraw' }],
      ['withdraw', { leadId: 'keep-me' }],
      ['nav', { to: 'sideways' }],
      ['edit', { step: 'x'.repeat(25) }],
      ['option', { step: 'risks', option: 'a.b' }],
      ['option', { step: 'risks', option: '' }],
      ['option', { step: 'risks', option: '疾病' }],
      ['township', { code: '1'.repeat(25) }],
    ];
    for (const [family, value] of refused) expect(() => codecOf(family).encode(value), `${family} ${JSON.stringify(value)}`).toThrow();
  });
});

describe('button ids where they are used', () => {
  const deployment = loadDeployment(SAMPLE_DEPLOYMENT);
  const ctx = makeEngineContext(deployment, 'zh-CN', { buttons: true, maxButtons: 10, buttonsPerRow: 2 }, new Date('2026-11-24T02:00:00Z'));

  it('the flow sends versioned ids, and takes them, and the old ones, as the same choice', () => {
    const r = begin(1, ctx);
    const ids = r.out[0]!.buttons!.flat().map((b) => b.id);
    expect(ids).toEqual(['2.option.reporter.self', '2.option.reporter.family', '2.option.reporter.other']);
    expect(handle(r.state, { kind: 'choice', id: '2.option.reporter.family' }, ctx).state.answers.reporter).toBe('family');
    expect(handle(r.state, { kind: 'choice', id: 'o:reporter:family' }, ctx).state.answers.reporter).toBe('family');
  });

  it('the flow answers a button of another version as expired, and keeps the question', () => {
    const r = begin(1, ctx);
    const stale = handle(r.state, { kind: 'choice', id: '3.option.reporter.family' }, ctx);
    expect(stale.out[0]!.text).toMatch(/^这个按钮已经过期了/);
    expect(stale.state).toEqual(r.state);
  });

  it('outside a report, an expired button is said to be expired above the welcome; a button that is merely not for now just gets the welcome', async () => {
    const caps = { buttons: true, maxButtons: 10, buttonsPerRow: 2 };
    const engineContext = (lng: 'zh-CN' | 'en', c: typeof caps, now: Date) => makeEngineContext(deployment, lng, c, now);
    const screens = createScreens({ intake: {} as Intake, places: placeTree(deployment), flow: selfReportFlow, engineContext });
    const again: Converse = (turn, row, c) => screens.converse(turn, row, c, again);
    const row: Row = { state: emptyState(1), language: 'zh-CN', status: 'idle' };
    const turn = (id: string): Turn => ({ who: { channel: 'telegram', userId: '1', chatId: '1' }, platformId: 'p', payload: {}, input: { kind: 'choice', id }, caps });
    const welcome = (await screens.converse(turn('2.nav.back'), row, ctx, again)).out;
    expect(welcome[0]!.text).toMatch(/^您好/);
    expect(welcome[0]!.buttons!.flat().map((b) => b.id)).toContain('2.start.new');
    for (const id of ['3.start.new', 'start:nonsense', '']) {
      const out = (await screens.converse(turn(id), row, ctx, again)).out;
      expect(out).toHaveLength(1);
      expect(out[0]!.text).toBe(`这个按钮已经过期了。\n\n${welcome[0]!.text}`);
      expect(out[0]!.buttons).toEqual(welcome[0]!.buttons);
    }
    const english = makeEngineContext(deployment, 'en', caps, new Date('2026-11-24T02:00:00Z'));
    expect((await screens.converse(turn('9.x'), { ...row, language: 'en' }, english, again)).out[0]!.text).toMatch(/^That button has expired\.\n\n/);
  });

  it('微信客服 drops "back" and "skip" from a menu over 10 items, whichever version they are', () => {
    const options = Array.from({ length: 9 }, (_, i) => [{ id: buttons.option.encode({ step: 'risks', option: `o${i}` }), label: `${i}` }]);
    for (const [back, skip] of [
      [buttons.nav.encode({ to: 'back' }), buttons.nav.encode({ to: 'skip' })],
      ['nav:back', 'nav:skip'],
    ]) {
      const out = { text: 'q', buttons: [...options, [{ id: buttons.nav.encode({ to: 'done' }), label: 'done' }], [{ id: back!, label: 'back' }, { id: skip!, label: 'skip' }]] };
      const menu = kfMessages(out).at(-1)!.msgmenu as { list: Array<{ click: { id: string } }> };
      const sent = menu.list.map((i) => i.click.id);
      expect(sent).toHaveLength(10);
      expect(sent).not.toContain(back);
      expect(sent).not.toContain(skip);
    }
  });
});
