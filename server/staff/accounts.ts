import { createHash, randomInt } from 'node:crypto';
import type { Database } from '../db/index.ts';
import { placeIndex, STAFF_ROLES, type Deployment, type StaffRole } from '../deployment.ts';
import { CODE_DIGITS, countyOfPlace, escalationTarget, placeKindOf } from '../places/scope.ts';

// which place a staff member sees, and who is above whom, is server/places/scope.ts (scopeOf stays importable from here)
export { scopeOf } from '../places/scope.ts';

/**
 * Staff accounts (ARCHITECTURE: server/staff): one-time invite codes made by an operator, `/join <code>` on a
 * channel, the role and place each person covers, and who escalates to whom. Only this module reads its tables.
 */

export type StaffMember = {
  id: string;
  role: StaffRole;
  placeCode: string;
  countyCode: string;
  name: string | null;
  channel: string;
  userId: string;
  chatId: string;
  language: string;
  unreachableAt: Date | null;
};

export type Identity = { channel: string; userId: string; chatId: string; language: string };

export type JoinResult =
  | { ok: true; staff: StaffMember }
  | { ok: false; reason: 'wrong' | 'used' | 'expired' }
  | { ok: false; reason: 'slow_down' | 'busy'; waitSeconds: number };

const INVITE_DAYS = 7;
/** Letters and digits that cannot be mistaken for one another on a phone screen (no 0/O, 1/I/L). */
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
/** Wrong codes allowed before the account must wait; the wait doubles with each further failure, up to an hour. */
const FREE_FAILURES = 3;
const BASE_WAIT_S = 60;
const MAX_WAIT_S = 3600;
/** Failed joins a minute, all accounts together, before everyone waits for the next minute (a flood of guesses). */
export const JOIN_FAILURES_PER_MINUTE = 30;
const JOIN_WINDOW = 'join-failures';

export function normalizeCode(text: string): string {
  return text.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

const codeHash = (code: string) => createHash('sha256').update(`invite:${normalizeCode(code)}`, 'utf8').digest('hex');

const toMember = (r: Omit<StaffMember, 'role'> & { role: string }): StaffMember => ({ ...r, role: r.role as StaffRole });

/** Every active staff member, with where their messages go: what the reminder scheduler plans for. */
export async function activeStaff(tx: Pick<Database['prisma'], '$queryRaw'>) {
  const rows = await tx.$queryRaw<Array<{ id: string; role: string; place_code: string; county_code: string; channel: string; chat_id: string; language: string; unreachable: boolean }>>`
    SELECT id::text, role, place_code, county_code, channel, chat_id, language, unreachable_at IS NOT NULL AS unreachable FROM staff WHERE removed_at IS NULL`;
  return rows.map((r) => ({ id: r.id, role: r.role as StaffRole, placeCode: r.place_code, countyCode: r.county_code, unreachable: r.unreachable, channel: r.channel, chatId: r.chat_id, language: r.language }));
}

export function createStaffAccounts(deps: { db: Database; deployment: Deployment }) {
  const { db, deployment } = deps;
  const places = placeIndex(deployment);

  function checkPlace(role: StaffRole, placeCode: string): string {
    const kind = placeKindOf(role);
    const county = countyOfPlace(places, kind, placeCode);
    if (!county) throw new Error(`a ${role} needs a ${kind} of the deployment: ${placeCode} is not one (a ${CODE_DIGITS[kind]}-digit ${kind} code)`);
    return county;
  }

  return {
    /** Makes a one-time code for a role at a place. Only its hash is stored; the code is shown once. */
    async createInvite(role: string, placeCode: string, name: string | undefined, now = new Date()) {
      if (!STAFF_ROLES.includes(role as StaffRole)) throw new Error(`role must be one of ${STAFF_ROLES.join(', ')}`);
      checkPlace(role as StaffRole, placeCode);
      let code = '';
      for (let i = 0; i < 8; i++) code += ALPHABET[randomInt(ALPHABET.length)];
      const expiresAt = new Date(now.getTime() + INVITE_DAYS * 86_400_000);
      await db.prisma.invite.create({ data: { codeHash: codeHash(code), role, placeCode, name: name ?? null, createdAt: now, expiresAt } });
      return { code: `${code.slice(0, 4)}-${code.slice(4)}`, expiresAt };
    },

    /**
     * `/join <code>`: a good code makes the account staff for the code's role and place (once). Wrong, used or
     * expired codes count as failures; after a few the account must wait before trying again, and past a limit of
     * failures a minute across all accounts everyone waits for the next minute. Each attempt is counted (as if it
     * failed) in one atomic statement before its code is looked at, and a success takes it back: simultaneous
     * attempts from one account cannot all be checked.
     */
    async join(who: Identity, code: string, now = new Date()): Promise<JoinResult> {
      const counted = await db.prisma.$queryRaw<Array<{ failures: number; blocked_until: Date | null; last_refused: boolean }>>`
        INSERT INTO join_attempt AS j (channel, user_id, failures, last_failure, blocked_until, last_refused)
        VALUES (${who.channel}, ${who.userId}, 1, ${now}, NULL, false)
        ON CONFLICT (channel, user_id) DO UPDATE SET
          last_refused = COALESCE(j.blocked_until > ${now}, false),
          failures = CASE WHEN j.blocked_until > ${now} THEN j.failures ELSE j.failures + 1 END,
          last_failure = CASE WHEN j.blocked_until > ${now} THEN j.last_failure ELSE ${now} END,
          blocked_until = CASE
            WHEN j.blocked_until > ${now} THEN j.blocked_until
            WHEN j.failures + 1 >= ${FREE_FAILURES} THEN ${now}::timestamptz + make_interval(secs => LEAST(${MAX_WAIT_S}, ${BASE_WAIT_S} * power(2, j.failures + 1 - ${FREE_FAILURES})))
            ELSE NULL END
        RETURNING failures, blocked_until, last_refused`;
      const attempt = counted[0]!;
      if (attempt.last_refused && attempt.blocked_until) return { ok: false, reason: 'slow_down', waitSeconds: Math.ceil((attempt.blocked_until.getTime() - now.getTime()) / 1000) };

      // All accounts together: an attempt an account may make still counts against the minute's limit. A window
      // from another instance's later clock is not reset by an earlier one.
      const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
      const global = await db.prisma.$queryRaw<Array<{ count: number; window_start: Date }>>`
        INSERT INTO rate_window AS w (key, window_start, count) VALUES (${JOIN_WINDOW}, ${minute}, 1)
        ON CONFLICT (key) DO UPDATE SET count = CASE WHEN ${minute} > w.window_start THEN 1 ELSE w.count + 1 END, window_start = GREATEST(w.window_start, ${minute})
        RETURNING count, window_start`;
      if (global[0]!.count > JOIN_FAILURES_PER_MINUTE) {
        // not looked at: the account's attempt is given back (it waits for the minute, not for its own limit)
        await db.prisma.$executeRaw`
          UPDATE join_attempt SET failures = GREATEST(failures - 1, 0),
            blocked_until = CASE WHEN failures - 1 >= ${FREE_FAILURES} THEN blocked_until ELSE NULL END
          WHERE channel = ${who.channel} AND user_id = ${who.userId}`;
        const waitSeconds = Math.min(60, Math.max(1, Math.ceil((global[0]!.window_start.getTime() + 60_000 - now.getTime()) / 1000)));
        return { ok: false, reason: 'busy', waitSeconds };
      }

      const outcome = await db.prisma.$transaction(async (tx) => {
        const rows = await tx.$queryRaw<Array<{ id: string; role: string; place_code: string; name: string | null; expires_at: Date; used_at: Date | null }>>`
          SELECT id, role, place_code, name, expires_at, used_at FROM invite WHERE code_hash = ${codeHash(code)} FOR UPDATE`;
        const invite = rows[0];
        if (!invite) return { ok: false as const, reason: 'wrong' as const };
        if (invite.used_at) return { ok: false as const, reason: 'used' as const };
        if (invite.expires_at <= now) return { ok: false as const, reason: 'expired' as const };
        const countyCode = checkPlace(invite.role as StaffRole, invite.place_code);
        const data = {
          role: invite.role,
          placeCode: invite.place_code,
          countyCode,
          name: invite.name,
          chatId: who.chatId,
          language: who.language,
          joinedAt: now,
          removedAt: null,
          unreachableAt: null,
        };
        const staff = await tx.staff.upsert({ where: { channel_userId: { channel: who.channel, userId: who.userId } }, create: { ...data, channel: who.channel, userId: who.userId }, update: data });
        await tx.invite.update({ where: { id: invite.id }, data: { usedAt: now, usedBy: staff.id } });
        return { ok: true as const, staff: toMember(staff) };
      });
      if (outcome.ok) {
        // a success was not a failure: the account starts afresh, and the minute's count is given back
        await db.prisma.joinAttempt.deleteMany({ where: { channel: who.channel, userId: who.userId } });
        await db.prisma.$executeRaw`UPDATE rate_window SET count = count - 1 WHERE key = ${JOIN_WINDOW} AND window_start = ${minute} AND count > 0`;
      }
      return outcome;
    },

    /** The active staff member behind a channel identity, if any. */
    async byIdentity(channel: string, userId: string): Promise<StaffMember | undefined> {
      const r = await db.prisma.staff.findFirst({ where: { channel, userId, removedAt: null } });
      return r ? toMember(r) : undefined;
    },

    async byId(id: string): Promise<StaffMember | undefined> {
      const r = await db.prisma.staff.findFirst({ where: { id, removedAt: null } });
      return r ? toMember(r) : undefined;
    },

    /** Everyone active, for the scheduler. */
    async active(): Promise<StaffMember[]> {
      return (await db.prisma.staff.findMany({ where: { removedAt: null } })).map(toMember);
    },

    /** Who holds a role at exactly this place (a village, township or county code). */
    async withRole(role: StaffRole, placeCode: string, client: Pick<Database['prisma'], 'staff'> = db.prisma): Promise<StaffMember[]> {
      return (await client.staff.findMany({ where: { role, placeCode, removedAt: null }, orderBy: { joinedAt: 'asc' } })).map(toMember);
    },

    /** `client`: the caller's transaction, when it has one open (the embedded database has one connection). */
    async isContactPerson(staffId: string, villageCode: string, client: Pick<Database['prisma'], 'staff'> = db.prisma): Promise<boolean> {
      return (await client.staff.count({ where: { id: staffId, role: 'contact_person', placeCode: villageCode, removedAt: null } })) === 1;
    },

    async list() {
      return db.prisma.staff.findMany({ orderBy: [{ countyCode: 'asc' }, { placeCode: 'asc' }, { joinedAt: 'asc' }] });
    },

    /** Removes a staff member (by id): they see the household menu again; what they did stays recorded. */
    async remove(id: string, now = new Date()): Promise<boolean> {
      const r = await db.prisma.staff.updateMany({ where: { id, removedAt: null }, data: { removedAt: now } });
      return r.count === 1;
    },

    /** The person blocked the bot: returns true the first time (so their escalation target is told once). */
    async markUnreachable(id: string, now = new Date()): Promise<boolean> {
      const r = await db.prisma.staff.updateMany({ where: { id, unreachableAt: null }, data: { unreachableAt: now } });
      return r.count === 1;
    },

    /** They wrote to the bot again: reachable. Also keeps their chat and language current. */
    async seen(id: string, chatId: string, language: string): Promise<void> {
      await db.prisma.staff.updateMany({ where: { id, OR: [{ unreachableAt: { not: null } }, { chatId: { not: chatId } }, { language: { not: language } }] }, data: { unreachableAt: null, chatId, language } });
    },

    /**
     * Who is told when this person cannot be reached: whoever holds the role above theirs (escalationTarget in
     * server/places/scope.ts) at the place above theirs; no one for a county officer.
     */
    async escalationTargets(s: { role: string; placeCode: string; countyCode: string }): Promise<StaffMember[]> {
      const target = escalationTarget(places, { ...s, role: s.role as StaffRole });
      return target ? this.withRole(...target) : [];
    },
  };
}

export type StaffAccounts = ReturnType<typeof createStaffAccounts>;
