/**
 * The report the benchmarks walk, as the Chinese integration test walks it (test/integration/telegram-selfreport.test.ts),
 * deliberate wrong answers included: each is re-asked, as happens with real people. A tap names the button's label
 * (or alternatives, the first found wins); `expect` is a text the bot's answer to that step must contain.
 */

export type Step = ({ say: string } | { tap: string[] }) & { expect?: string; wrong?: boolean };

function shanghaiMonth(): number {
  return Number(new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Shanghai', month: 'numeric' }).format(new Date()));
}
/** "今年7月" as in the test, while July of this year is in the past (the app runs on the real clock). */
const WHEN = shanghaiMonth() > 7 ? '今年7月' : '去年7月';

/**
 * The steps of one whole report by the person `userId` (their phone number is made from it): the short path to
 * the receipt, then the details added at once, as the peer baseline asks everything before its receipt.
 */
export function reportScript(userId: number): Step[] {
  const phone = `139${String(userId % 100_000_000).padStart(8, '0')}`;
  return [
    { say: '/start', expect: '申报不收任何费用' },
    { tap: ['开始申报', '重新填一份'], expect: '谁来申报？' },
    { tap: ['我自己家'] },
    { tap: ['勐库镇'], expect: '勐库镇的哪个村？' },
    { tap: ['冰岛村'] },
    { say: '李', expect: '姓名至少两个字', wrong: true },
    { say: '李明' },
    { say: phone.slice(0, 10), expect: '手机号是 11 位数字', wrong: true },
    { say: `${phone.slice(0, 3)} ${phone.slice(3, 7)} ${phone.slice(7)}` },
    { tap: ['同意，继续'] },
    { tap: ['有人生病'] },
    { tap: ['遭了自然灾害'] },
    { tap: ['选好了'], expect: '是什么灾害' },
    { tap: ['洪水'] },
    { tap: ['住房不安全'] },
    { tap: ['选好了'] },
    { say: '七月发大水把房子冲坏了，父亲住院' },
    { tap: ['没问题'], expect: '承诺授权书' },
    { tap: ['我同意'] },
    { say: '李明', expect: '回执号' },
    { tap: ['现在补充'], expect: '什么时候发生的' },
    { say: WHEN },
    { say: '四口人' },
    { say: '5', expect: '这个数不对', wrong: true },
    { say: '2' },
    { tap: ['脱贫户'] },
    { say: '很多', expect: '请填一个数', wrong: true },
    { say: '两万' },
    { say: '3千' },
    { say: '没有' },
    { say: '3600' },
    { say: '1,000' },
    { tap: ['跳过'] },
    { say: '1万2' },
    { tap: ['都没有'] },
    { tap: ['选好了'], expect: '已补充到申报里' },
  ];
}

/** The village of the poster the web page's people scan (勐库镇冰岛村 in the sample deployment, as the taps above). */
export const WEB_VILLAGE = '530925102208';

/**
 * The same report through the web page (bench/driver.ts, --channel web): its first step, /start, is opening the
 * poster's link (GET /r?v=WEB_VILLAGE, then the page it redirects to), which chooses the village, so the township
 * and village taps are not asked; the welcome names the village. Taps are the page's buttons, the rest typed.
 */
export function webReportScript(userId: number): Step[] {
  const [open, ...rest] = reportScript(userId);
  return [{ ...(open as { say: string }), expect: '勐库镇冰岛村' }, ...rest.filter((s) => !('tap' in s && (s.tap[0] === '勐库镇' || s.tap[0] === '冰岛村')))];
}

/**
 * The steps of one whole report to the peer baseline (bench/peer-bot.ts): /start, then its 25 questions answered
 * in order (5 taps, 7 money answers of which 3 are first given in words and re-asked, 13 texts).
 */
export function peerScript(userId: number): Step[] {
  const phone = `139${String(userId % 100_000_000).padStart(8, '0')}`;
  return [
    { say: '/start', expect: '谁来申报？' },
    { tap: ['我自己家'], expect: '户主姓名？' },
    { say: '李明' },
    { say: phone },
    { say: '530923199001011234' },
    { tap: ['勐库镇'], expect: '哪个村？' },
    { say: '冰岛村' },
    { say: '四口人' },
    { tap: ['脱贫户'] },
    { tap: ['遭了自然灾害'], expect: '是什么灾害？' },
    { say: '洪水' },
    { tap: ['是'], expect: '看病花了多少钱' },
    { say: '很多', expect: '请填一个数', wrong: true },
    { say: '12000' },
    { say: '两万', expect: '请填一个数', wrong: true },
    { say: '20000' },
    { say: '3000' },
    { say: '36000' },
    { say: '不知道', expect: '请填一个数', wrong: true },
    { say: '30000' },
    { say: '1000' },
    { say: '0', expect: '说说情况？' },
    { say: '七月发大水把房子冲坏了，父亲住院' },
    { say: WHEN },
    { say: '勐库镇冰岛村三组' },
    { say: '李强 13900000000' },
    { say: '修房子' },
    { say: '没有' },
    { say: '李明', expect: '回执号' },
  ];
}
