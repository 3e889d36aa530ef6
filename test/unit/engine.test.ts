import { describe, expect, it } from 'vitest';
import { loadDeployment } from '../../server/deployment.ts';
import { SAMPLE_DEPLOYMENT } from '../../server/config.ts';
import { makeEngineContext } from '../../bot/conversation.ts';
import { begin, handle, type Result } from '../../bot/engine/engine.ts';
import { PARSE_ERRORS } from '../../bot/parse/index.ts';
import { tFor } from '../../server/i18n.ts';
import type { State } from '../../bot/engine/types.ts';
import { detailsFlow } from '../../bot/flows/selfreport.ts';

const deployment = loadDeployment(SAMPLE_DEPLOYMENT);
const now = new Date('2026-11-24T02:00:00Z');
const noButtons = makeEngineContext(deployment, 'zh-CN', { buttons: false, maxButtons: 10, buttonsPerRow: 1 }, now);
const buttons = makeEngineContext(deployment, 'zh-CN', { buttons: true, maxButtons: 10, buttonsPerRow: 2 }, now);

function say(r: Result, text: string, ctx = noButtons): Result {
  return handle(r.state, { kind: 'text', text }, ctx);
}

describe('the flow engine on a channel without buttons', () => {
  it('numbers the choices and takes "2" as the second one', () => {
    const r = begin(1, noButtons);
    expect(r.out[0]!.buttons).toBeUndefined();
    expect(r.out[0]!.text).toMatch(/^第 1\/\d+ 步\n谁来申报？\n\n1\. 我自己家\n2\. 替家里人（比如父母）\n3\. 替邻居或村里人\n请回复数字，比如 1。$/);
    const next = say(r, '2');
    expect(next.state.answers.reporter).toBe('family');
    expect(next.out[0]!.text).toContain('您和这户人家是什么关系？');
    expect(next.out[0]!.text).toContain('6. ⬅️ 返回上一步');
  });

  it('takes "1、3" and "1,3" for several choices at once', () => {
    const before = { reporter: 'self', place: { township: '530925102', village: '530925102208' }, headName: '李明', phone: '13812345678', idNumber: null, householdSize: 3, labourers: 1, householdType: 'ordinary', sensitiveNotice: true };
    let r = begin(1, noButtons, before);
    expect(r.out[0]!.text).toContain('您家遇到了什么困难');
    expect(r.out[0]!.text).toContain('回复数字，比如 1、3');
    r = say(r, '1、3');
    expect(r.state.answers.risks).toEqual(['illness', 'disability']);
    const other = say(begin(1, noButtons, before), '2,4');
    expect(other.state.answers.risks).toEqual(['schooling', 'disaster']);
    expect(other.out[0]!.text).toContain('是什么灾害');
  });

  it('re-asks a number out of range, keeping the answers', () => {
    const r = say(say(begin(1, noButtons), '1'), '99');
    expect(r.out[0]!.text).toMatch(/^❗ 没有这个选项。/);
    expect(r.state.answers.reporter).toBe('self');
    expect(r.state.at).toBe('place');
  });

  it('picks the place by numbers, or by typing a village name', () => {
    const r = say(begin(1, noButtons), '1');
    expect(r.out[0]!.text).toContain('2. 勐库镇');
    const tw = say(r, '2');
    expect(tw.out[0]!.text).toContain('勐库镇的哪个村？');
    expect(tw.out[0]!.text).toContain('1. 勐库华侨社区\n2. 城子村');
    const v = say(tw, '2');
    expect(v.state.answers.place).toEqual({ township: '530925102', village: '530925102201' });
    const typed = say(r, '冰岛');
    expect(typed.state.answers.place).toEqual({ township: '530925102', village: '530925102208' });
    expect(say(r, '不存在的村').out[0]!.text).toMatch(/^❗ 没找到这个村/);
  });

  it('answers yes/no by number or word', () => {
    const base = { reporter: 'family', relation: 'child' };
    const r = begin(1, noButtons, base);
    expect(r.state.at).toBe('householdAgrees');
    expect(say(r, '1').state.answers.householdAgrees).toBe(true);
    expect(say(r, '对').state.answers.householdAgrees).toBe(true);
  });
});

describe('the flow engine with buttons', () => {
  it('toggles multi-select with ✅ and redraws the same message', () => {
    const r = begin(1, buttons, { reporter: 'self', place: { township: '530925102', village: '530925102208' }, headName: '李明', phone: '13812345678', idNumber: null, householdSize: 3, labourers: 1, householdType: 'ordinary', sensitiveNotice: true });
    const t1 = handle(r.state, { kind: 'choice', id: 'o:risks:illness' }, buttons);
    expect(t1.out[0]!.replace).toBe(true);
    expect(t1.out[0]!.buttons!.flat().map((b) => b.label)).toContain('✅ 有人生病');
    const t2 = handle(t1.state, { kind: 'choice', id: 'o:risks:illness' }, buttons);
    expect(t2.out[0]!.buttons!.flat().map((b) => b.label)).toContain('有人生病');
    const done = handle(handle(t2.state, { kind: 'choice', id: 'o:risks:accident' }, buttons).state, { kind: 'choice', id: 'nav:done' }, buttons);
    expect(done.state.answers.risks).toEqual(['accident']);
  });

  it('brings a question back with its answer: ticks on 返回上一步, the typed words in the reply for a form\'s field', () => {
    const r = begin(1, buttons, { reporter: 'self', place: { township: '530925102', village: '530925102208' }, headName: '李明', phone: '13812345678', idNumber: null, householdSize: 3, labourers: 1, householdType: 'ordinary', sensitiveNotice: true });
    const picked = handle(handle(r.state, { kind: 'choice', id: 'o:risks:illness' }, buttons).state, { kind: 'choice', id: 'o:risks:accident' }, buttons);
    const next = handle(picked.state, { kind: 'choice', id: 'nav:done' }, buttons);
    expect(next.state.at).not.toBe('risks');
    const back = handle(next.state, { kind: 'choice', id: 'nav:back' }, buttons);
    expect(back.state.at).toBe('risks');
    const labels = back.out[0]!.buttons!.flat().map((b) => b.label);
    expect(labels).toContain('✅ 有人生病');
    expect(labels).toContain('✅ 出了意外事故');
    // "done" at once keeps them, rather than asking for at least one
    expect(handle(back.state, { kind: 'choice', id: 'nav:done' }, buttons).state.answers.risks).toEqual(['illness', 'accident']);
    // a typed answer comes back as it was typed, for a page to put in its field
    const named = begin(1, buttons, { reporter: 'self', place: { township: '530925102', village: '530925102208' } });
    const phoneAsked = handle(named.state, { kind: 'text', text: '王老汉' }, buttons);
    expect(phoneAsked.out[0]!.ask).toMatchObject({ kind: 'phone' });
    expect(phoneAsked.out[0]!.ask!.value).toBeUndefined();
    const again = handle(phoneAsked.state, { kind: 'choice', id: 'nav:back' }, buttons);
    expect(again.out[0]!.ask).toMatchObject({ kind: 'text', value: '王老汉' });
  });

  it('pages a long village list', () => {
    const r = handle(begin(1, buttons, { reporter: 'self' }).state, { kind: 'choice', id: 'tw:530925102' }, buttons);
    const labels = r.out[0]!.buttons!.flat().map((b) => b.label);
    expect(labels).toContain('下一页 ➡️');
    const page2 = handle(r.state, { kind: 'choice', id: 'nav:more' }, buttons);
    expect(page2.out[0]!.buttons!.flat().map((b) => b.label)).toContain('丙山村');
  });

  it('refuses a button from an earlier question', () => {
    const r = begin(1, buttons, { reporter: 'self' });
    const stale = handle(r.state, { kind: 'choice', id: 'o:reporter:family' }, buttons);
    expect(stale.out[0]!.text).toMatch(/^这个按钮已经过期了/);
    expect(stale.state.answers.reporter).toBe('self');
  });

  it('counts progress over the short path: the same total for everyone, a follow-up sharing its question\'s number', () => {
    const self = begin(2, buttons, { reporter: 'self' });
    const proxy = begin(2, buttons, { reporter: 'family' });
    const line = (s: State) => /第 (\d+)\/(\d+) 步/.exec(handle(s, { kind: 'command', name: 'help', arg: '' }, buttons).out[0]!.text)!.slice(1).map(Number);
    expect(line(self.state)).toEqual([2, 8]); // the place, after "who reports"
    expect(line(proxy.state)).toEqual([1, 8]); // the relation: a follow-up of "who reports"
    const relation = handle(proxy.state, { kind: 'choice', id: '2.option.relation.child' }, buttons);
    expect(relation.out[0]!.text).toMatch(/^第 1\/8 步\n替别人申报/);
  });
});

describe('every parser error has words in every language', () => {
  it.each(['zh-CN', 'en'] as const)('%s', (lng) => {
    const t = tFor(lng, 'bot');
    for (const code of PARSE_ERRORS) expect(t(`errors.${code}`), code).not.toBe(`errors.${code}`);
  });
});

describe('the short report and its details', () => {
  const proxyStart = { reporter: 'family', relation: 'child' };

  it('a re-ask names what the screen offers: a notice its two buttons, a screen with only "back" says so', () => {
    const notice = begin(2, buttons, proxyStart);
    expect(notice.state.at).toBe('householdAgrees');
    const r = handle(notice.state, { kind: 'text', text: '啥意思' }, buttons);
    expect(r.out[0]!.text).toMatch(/^❗ 请点 “知道，也同意”或“还没问过”。/);
    const stopped = handle(notice.state, { kind: 'choice', id: '2.option.householdAgrees.no' }, buttons);
    expect(stopped.state.at).toBe('stopped');
    const again = handle(stopped.state, { kind: 'text', text: '好的' }, buttons);
    expect(again.out[0]!.text).toMatch(/^这里没有可以选的，请点“返回上一步”/);
    expect(again.out[0]!.text).not.toContain('点下面的按钮');
  });

  it('typed 没有 / 无 / 都没有 answer "都没有" and move on; a typed option name only ticks it', () => {
    const before = { reporter: 'self', place: { township: '530925102', village: '530925102208' }, headName: '李明', phone: '13812345678', sensitiveNotice: true, risks: ['illness'] };
    for (const word of ['没有', '无', '都没有', '没有。']) {
      const r = handle(begin(2, buttons, before).state, { kind: 'text', text: word }, buttons);
      expect(r.state.answers.conditions, word).toEqual(['none']);
      expect(r.state.at).toBe('whatHappened');
    }
    const ticked = handle(begin(2, buttons, before).state, { kind: 'text', text: '有孩子没上学' }, buttons);
    expect(ticked.state.picking).toEqual(['childOutOfSchool']);
    expect(ticked.state.at).toBe('conditions');
  });

  it('a draft of the old flow at a question no longer asked goes on at the first one unanswered, keeping its answers', () => {
    const old: State = { flowVersion: 1, at: 'housingUnsafe', answers: { reporter: 'self', place: { township: '530925102', village: '530925102208' }, headName: '李明', phone: '13812345678', idNumber: null, householdSize: 4 }, history: ['reporter'], misses: 0 };
    const r = handle(old, { kind: 'text', text: '是' }, buttons);
    expect(r.state.at).toBe('sensitiveNotice');
    expect(r.state.answers.headName).toBe('李明');
  });

  it('the details count their own twelve steps and end by saving, not with a summary', () => {
    const dctx = makeEngineContext(deployment, 'zh-CN', { buttons: true, maxButtons: 10, buttonsPerRow: 2 }, now, undefined, detailsFlow);
    let r = begin(1, dctx, { reporter: 'self' });
    expect(r.out[0]!.text).toBe('补充情况 第 1/12 步\n这事是什么时候发生的？说个大概就行。');
    const prefilled = begin(1, dctx, { whenHappened: { date: '2026-07', precision: 'month' }, householdSize: 4, labourers: 2, householdType: 'escaped', a28: { kind: 'unknown' }, a29: { kind: 'unknown' }, a30: { kind: 'unknown' }, a31: { kind: 'unknown' }, a32: { kind: 'unknown' }, a35: { kind: 'unknown' } });
    expect(prefilled.out[0]!.text).toMatch(/^补充情况 第 11\/12 步\n看病/);
    r = handle(prefilled.state, { kind: 'text', text: '万把块' }, dctx);
    expect(r.state.at).toBe('exclusions');
    r = handle(r.state, { kind: 'text', text: '都没有' }, dctx);
    expect(r.effect).toEqual({ type: 'save' });
    expect(r.state.answers.a36).toMatchObject({ kind: 'amount', yuan: 10000, approximate: true });
    expect(r.state.answers.exclusions).toEqual(['none']);
  });
});

describe('who the household is, in the questions\' words', () => {
  it.each([
    [{ reporter: 'self' }, '您家住在哪个乡镇？'],
    [{ reporter: 'family', relation: 'child', householdAgrees: true }, '您父母家住在哪个乡镇？'],
    [{ reporter: 'family', relation: 'spouse', householdAgrees: true }, '您家住在哪个乡镇？'],
    [{ reporter: 'family', relation: 'parent', householdAgrees: true }, '您子女家住在哪个乡镇？'],
    [{ reporter: 'family', relation: 'sibling', householdAgrees: true }, '您兄弟姐妹家住在哪个乡镇？'],
    [{ reporter: 'family', relation: 'other_relative', householdAgrees: true }, '您亲戚家住在哪个乡镇？'],
    [{ reporter: 'other', relation: 'neighbour', householdAgrees: true }, '这户人家住在哪个乡镇？'],
    [{ reporter: 'other', relation: 'cadre', householdAgrees: true }, '这户人家住在哪个乡镇？'],
  ])('%j', (answers, prompt) => {
    expect(begin(2, buttons, answers).out[0]!.text).toContain(`\n${prompt}`);
  });

  it('a neighbour or a cadre signs the consent on the household\'s behalf too, and the text\'s hash is of that text', () => {
    const ctx = makeEngineContext(deployment, 'zh-CN', { buttons: true, maxButtons: 10, buttonsPerRow: 2 }, now);
    const own = ctx.consent({ reporter: 'self', headName: '赵大山' });
    for (const relation of ['neighbour', 'cadre']) {
      const proxy = ctx.consent({ reporter: 'other', relation, headName: '赵大山' });
      expect(proxy.text).toContain('本人受赵大山户委托');
      expect(proxy.hash).not.toBe(own.hash);
    }
    expect(ctx.consent({ reporter: 'other', relation: 'cadre', headName: '赵大山' }).text).toContain('以村干部/网格员的身份');
    expect(own.text).not.toContain('委托');
  });
});
