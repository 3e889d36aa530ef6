/**
 * The peer baseline of bench/selfreport.ts: the report bot a TypeScript developer would typically write with
 * grammY, the conversations plugin (2.x, replay-based: each update replays the conversation from its stored log)
 * and @grammyjs/storage-psql. 25 questions (5 inline-keyboard taps, 7 money answers parsed as numbers and re-asked
 * when not one, 13 free texts); the last answer stores one row in peer_reports and gets a receipt text. Behind
 * express on a webhook route, as the echo baseline.
 *
 * Database: a pg.Pool (max 20) on DATABASE_URL, or a PGlite instance in `pgliteDir`. Tables peer_sessions and
 * peer_reports are its own, created when missing; stale sessions are dropped at start.
 */
import pg from 'pg';
import { Bot, Context, InlineKeyboard } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { conversations, createConversation, type Conversation, type ConversationData, type ConversationFlavor, type VersionedState } from '@grammyjs/conversations';
import { PsqlAdapter } from '@grammyjs/storage-psql';
import { serveWebhook } from './webhook-server.ts';

type PeerContext = ConversationFlavor<Context>;

type Question = { key: string; text: string } & ({ kind: 'tap'; options: string[] } | { kind: 'money' } | { kind: 'text' });

/** Bench fixture: the questions, in order. */
export const PEER_QUESTIONS: Question[] = [
  { key: 'who', kind: 'tap', text: '谁来申报？', options: ['我自己家', '帮别人申报'] },
  { key: 'name', kind: 'text', text: '户主姓名？' },
  { key: 'phone', kind: 'text', text: '联系电话？' },
  { key: 'idNumber', kind: 'text', text: '身份证号？' },
  { key: 'township', kind: 'tap', text: '哪个乡镇？', options: ['勐库镇', '勐勐镇', '其他'] },
  { key: 'village', kind: 'text', text: '哪个村？' },
  { key: 'household', kind: 'text', text: '家里几口人？' },
  { key: 'status', kind: 'tap', text: '户类型？', options: ['脱贫户', '监测户', '一般户'] },
  { key: 'trouble', kind: 'tap', text: '遇到什么困难？', options: ['有人生病', '遭了自然灾害', '其他'] },
  { key: 'disaster', kind: 'text', text: '是什么灾害？' },
  { key: 'hospital', kind: 'tap', text: '有人住院吗？', options: ['是', '不是'] },
  { key: 'medical', kind: 'money', text: '看病花了多少钱（元）？' },
  { key: 'loss', kind: 'money', text: '灾害损失多少钱（元）？' },
  { key: 'reimbursed', kind: 'money', text: '报销了多少钱（元）？' },
  { key: 'income', kind: 'money', text: '去年家庭总收入（元）？' },
  { key: 'wages', kind: 'money', text: '其中务工收入（元）？' },
  { key: 'subsidy', kind: 'money', text: '领到的补贴（元）？' },
  { key: 'debt', kind: 'money', text: '欠款多少（元）？' },
  { key: 'story', kind: 'text', text: '说说情况？' },
  { key: 'when', kind: 'text', text: '什么时候发生的？' },
  { key: 'address', kind: 'text', text: '家庭住址？' },
  { key: 'contact', kind: 'text', text: '还有谁可以联系？' },
  { key: 'helpWanted', kind: 'text', text: '希望得到什么帮助？' },
  { key: 'note', kind: 'text', text: '还有要补充的吗？' },
  { key: 'signature', kind: 'text', text: '请写下您的姓名确认提交。' },
];

export const PEER_NOT_A_NUMBER = '请填一个数';
export const PEER_RECEIPT = '回执号：';

/** What the storage adapter needs of a database: `query(sql, params)` answering `{ rows }` (pg.Pool and PGlite both do). */
type Queryable = { query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }> };

export type PeerOptions = {
  token: string;
  botInfo: UserFromGetMe;
  apiRoot: string;
  /** PostgreSQL; else `pgliteDir` */
  databaseUrl?: string;
  pgliteDir?: string;
  /** each database query the peer makes (round trips) */
  onQuery?: () => void;
};

export async function startPeer(opts: PeerOptions) {
  let db: Queryable;
  let closeDb: () => Promise<void>;
  let clients: WeakSet<object> | undefined;
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 20 });
    clients = new WeakSet();
    const mine = clients;
    pool.on('connect', (c) => void mine.add(c));
    pool.on('error', () => {}); // an idle client's error: the next query fails and is reported
    db = pool;
    closeDb = () => pool.end();
  } else {
    if (!opts.pgliteDir) throw new Error('startPeer: databaseUrl or pgliteDir needed');
    const { PGlite } = await import('@electric-sql/pglite');
    const lite = new PGlite(opts.pgliteDir);
    await lite.waitReady;
    db = lite;
    closeDb = () => lite.close();
  }
  const counted: Queryable = opts.onQuery
    ? {
        query: (sql, params) => {
          opts.onQuery!();
          return db.query(sql, params);
        },
      }
    : db;

  try {
    // storage-psql's `client` is typed as pg.Client; it only calls client.query(sql, params) and reads `rows`
    const adapter = (await PsqlAdapter.create({ tableName: 'peer_sessions', client: counted as unknown as pg.Client })) as PsqlAdapter<VersionedState<ConversationData>>;
    await db.query('CREATE TABLE IF NOT EXISTS peer_reports (id bigserial PRIMARY KEY, chat_id bigint NOT NULL, answers jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
    await db.query('DELETE FROM peer_sessions');

    const bot = new Bot<PeerContext>(opts.token, { botInfo: opts.botInfo, client: { apiRoot: opts.apiRoot } });
    bot.use(conversations<PeerContext, Context>({ storage: { type: 'key', adapter } }));
    bot.use(createConversation<PeerContext, Context>(async (conversation: Conversation<PeerContext, Context>, ctx: Context) => {
      const answers: Record<string, string | number> = {};
      for (const q of PEER_QUESTIONS) {
        if (q.kind === 'tap') {
          const keyboard = new InlineKeyboard();
          q.options.forEach((label, i) => keyboard.text(label, `${q.key}:${i}`));
          await ctx.reply(q.text, { reply_markup: keyboard });
          const tap = await conversation.waitForCallbackQuery(new RegExp(`^${q.key}:\\d+$`), { otherwise: (c) => c.reply(q.text, { reply_markup: keyboard }) });
          await tap.answerCallbackQuery();
          answers[q.key] = q.options[Number(tap.callbackQuery.data.split(':')[1])] ?? '';
        } else if (q.kind === 'money') {
          await ctx.reply(q.text);
          answers[q.key] = await conversation.form.number({ otherwise: (c) => c.reply(`${PEER_NOT_A_NUMBER}：${q.text}`) });
        } else {
          await ctx.reply(q.text);
          answers[q.key] = await conversation.form.text({ otherwise: (c) => c.reply(q.text) });
        }
      }
      const chatId = ctx.chatId!;
      const id = await conversation.external(async () => {
        const r = await counted.query('INSERT INTO peer_reports (chat_id, answers) VALUES ($1, $2) RETURNING id', [chatId, JSON.stringify(answers)]);
        return String((r.rows[0] as { id: string | number }).id);
      });
      await ctx.reply(`已收到。${PEER_RECEIPT}P${id}`);
    }, 'report'));
    bot.command('start', (ctx) => ctx.conversation.enter('report'));
    await bot.init();

    const web = await serveWebhook(bot);
    let closed = false;
    return {
      server: web.server,
      url: web.url,
      /** the peer pool's clients (PostgreSQL), to tell its queries from the app's */
      clients,
      reportCount: async () => Number(((await db.query('SELECT count(*)::int AS n FROM peer_reports')).rows[0] as { n: number }).n),
      close: async () => {
        if (closed) return;
        closed = true;
        await web.close();
        await closeDb();
      },
    };
  } catch (e) {
    await closeDb().catch(() => {});
    throw e;
  }
}

export type Peer = Awaited<ReturnType<typeof startPeer>>;
