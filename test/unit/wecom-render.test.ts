import { describe, expect, it } from 'vitest';
import { kfInput, kfMessages, splitText } from '../../bot/channels/wecom/index.ts';

// How the engine's messages become 微信客服 messages, and customer messages become the engine's input.

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('微信客服 rendering', () => {
  it('splits a long text at line ends within the byte limit, losing nothing', () => {
    const lines = Array.from({ length: 120 }, (_, i) => `第 ${i + 1} 项：家庭成员的收入和支出情况说明`);
    const text = lines.join('\n');
    const parts = splitText(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(bytes(p)).toBeLessThanOrEqual(2000);
    expect(parts.join('')).toBe(text);
    // one line longer than the limit is cut inside
    const long = '很'.repeat(1500);
    const cut = splitText(long);
    expect(cut.every((p) => bytes(p) <= 2000)).toBe(true);
    expect(cut.join('')).toBe(long);
  });

  it('packs a question and its choices into one menu message; text before it when the question is long', () => {
    const out = { text: '第 2/25 步\n您家在哪个乡镇？', buttons: [[{ id: 'tw:1', label: '勐勐镇' }], [{ id: 'tw:2', label: '勐库镇' }], [{ id: 'nav:back', label: '返回上一步' }]] };
    expect(kfMessages(out)).toEqual([
      { msgtype: 'msgmenu', msgmenu: { head_content: out.text, list: out.buttons.flat().map((b) => ({ type: 'click', click: { id: b.id, content: b.label } })) } },
    ]);
    const summary = { text: Array.from({ length: 60 }, (_, i) => `第 ${i + 1} 行：内容内容内容`).join('\n'), buttons: [[{ id: 'sum:ok', label: '没问题，提交' }]] };
    const msgs = kfMessages(summary);
    expect(msgs.at(-1)!.msgtype).toBe('msgmenu');
    expect(bytes(String((msgs.at(-1)!.msgmenu as { head_content: string }).head_content))).toBeLessThanOrEqual(1000);
    expect(msgs.slice(0, -1).every((m) => m.msgtype === 'text')).toBe(true);
  });

  it('keeps a menu to 10 items: "back" and "skip" give way first (they can be typed)', () => {
    const options = Array.from({ length: 9 }, (_, i) => ({ id: `o:risks:${i}`, label: `${i + 1}. 选项` }));
    const out = { text: '遇到了什么困难？', buttons: [...options.map((b) => [b]), [{ id: 'nav:done', label: '选好了' }], [{ id: 'nav:back', label: '返回上一步' }]] };
    const list = (kfMessages(out)[0]!.msgmenu as { list: Array<{ click: { id: string } }> }).list;
    expect(list).toHaveLength(10);
    expect(list.map((i) => i.click.id)).not.toContain('nav:back');
    expect(list.map((i) => i.click.id)).toContain('nav:done');
  });

  it('turns menu taps into choices, typed text into text or commands, and enter_session into a start with the QR code\'s village', () => {
    expect(kfInput({ msgid: 'a', msgtype: 'text', text: { content: '勐库镇', menu_id: 'tw:530925102' } })).toEqual({ kind: 'choice', id: 'tw:530925102' });
    expect(kfInput({ msgid: 'b', msgtype: 'text', text: { content: '两万' } })).toEqual({ kind: 'text', text: '两万' });
    expect(kfInput({ msgid: 'c', msgtype: 'text', text: { content: '/status' } })).toEqual({ kind: 'command', name: 'status', arg: '' });
    expect(kfInput({ msgid: 'd', msgtype: 'event', event: { event_type: 'enter_session', scene_param: 'v530925102208', welcome_code: 'w' } })).toEqual({ kind: 'command', name: 'start', arg: 'v530925102208' });
    expect(kfInput({ msgid: 'e', msgtype: 'image', image: { media_id: 'm1' } })).toEqual({ kind: 'media', media: 'photo', fileId: 'm1' });
    expect(kfInput({ msgid: 'f', msgtype: 'location' })).toEqual({ kind: 'unsupported' });
  });
});
