import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from '../db/index.ts';

/**
 * Log-in to the county console without passwords: a staff member asks the bot for a link (`/web`, or the CLI for
 * the first officer), the link works once within 10 minutes, and opening it starts a session. Links and sessions
 * are rows (every instance sees the same ones); only SHA-256 hashes of their tokens are kept.
 */

export const LINK_VALID_MS = 10 * 60_000;
export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_MAX_MS = 12 * 3_600_000;
/** Links a staff member may ask for per window, counted in the database (rate_window). */
export const LINKS_PER_WINDOW = 5;
export const LINK_WINDOW_MS = 10 * 60_000;
/** A session's last-seen time is written at most this often (every page view would be a write otherwise). */
const TOUCH_EVERY_MS = 60_000;

const hash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
const token = () => randomBytes(32).toString('base64url');

export type LinkResult = { ok: true; token: string; expiresAt: Date } | { ok: false; reason: 'slow_down'; waitSeconds: number };
export type RedeemResult = { ok: true; sessionToken: string; staffId: string } | { ok: false; reason: 'unknown' | 'used' | 'expired' | 'removed' };
export type Session = { id: string; staffId: string; csrf: string; language: string | null; createdAt: Date };
export type SessionResult = { ok: true; session: Session } | { ok: false; reason: 'none' | 'idle' | 'expired' | 'ended' };

export function createConsoleAuth(deps: { db: Database; isActiveStaff: (staffId: string) => Promise<boolean> }) {
  const { db } = deps;

  return {
    /** A one-time link token for an active staff member, unless they asked for too many lately. */
    async issueLink(staffId: string, now = new Date()): Promise<LinkResult> {
      const windowStart = new Date(Math.floor(now.getTime() / LINK_WINDOW_MS) * LINK_WINDOW_MS);
      const key = `console-link:${staffId}`;
      // counted atomically before the check: two instances asked at once still count twice
      const [row] = await db.prisma.$queryRaw<Array<{ count: number }>>`
        INSERT INTO rate_window AS w (key, window_start, count) VALUES (${key}, ${windowStart}, 1)
        ON CONFLICT (key) DO UPDATE SET
          count = CASE WHEN ${windowStart} > w.window_start THEN 1 ELSE w.count + 1 END,
          window_start = GREATEST(w.window_start, ${windowStart})
        RETURNING count`;
      if ((row?.count ?? 0) > LINKS_PER_WINDOW) {
        return { ok: false, reason: 'slow_down', waitSeconds: Math.max(1, Math.ceil((windowStart.getTime() + LINK_WINDOW_MS - now.getTime()) / 1000)) };
      }
      const t = token();
      const expiresAt = new Date(now.getTime() + LINK_VALID_MS);
      await db.prisma.consoleLink.create({ data: { tokenHash: hash(t), staffId, createdAt: now, expiresAt } });
      return { ok: true, token: t, expiresAt };
    },

    /** Opens a link: used once (marked used in the same statement that checks it), then a session. */
    async redeem(linkToken: string, language: string | null, now = new Date()): Promise<RedeemResult> {
      const h = hash(linkToken);
      const claimed = await db.prisma.consoleLink.updateMany({ where: { tokenHash: h, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
      if (claimed.count !== 1) {
        const link = await db.prisma.consoleLink.findUnique({ where: { tokenHash: h } });
        if (!link) return { ok: false, reason: 'unknown' };
        return { ok: false, reason: link.usedAt ? 'used' : 'expired' };
      }
      const link = await db.prisma.consoleLink.findUniqueOrThrow({ where: { tokenHash: h } });
      if (!(await deps.isActiveStaff(link.staffId))) return { ok: false, reason: 'removed' };
      const sessionToken = token();
      await db.prisma.consoleSession.create({ data: { tokenHash: hash(sessionToken), staffId: link.staffId, csrf: token(), language, createdAt: now, lastSeenAt: now } });
      return { ok: true, sessionToken, staffId: link.staffId };
    },

    /**
     * The session behind a cookie, if it is still alive: not ended, seen within the idle limit, younger than the
     * absolute limit, its staff member not removed. A live session's last-seen time moves on.
     */
    async session(sessionToken: string | undefined, now = new Date()): Promise<SessionResult> {
      if (!sessionToken) return { ok: false, reason: 'none' };
      const s = await db.prisma.consoleSession.findUnique({ where: { tokenHash: hash(sessionToken) } });
      if (!s) return { ok: false, reason: 'none' };
      if (s.endedAt) return { ok: false, reason: 'ended' };
      const end = async (reason: 'idle' | 'expired' | 'ended'): Promise<SessionResult> => {
        await db.prisma.consoleSession.updateMany({ where: { id: s.id, endedAt: null }, data: { endedAt: now } });
        return { ok: false, reason };
      };
      if (now.getTime() - s.createdAt.getTime() >= SESSION_MAX_MS) return end('expired');
      if (now.getTime() - s.lastSeenAt.getTime() >= SESSION_IDLE_MS) return end('idle');
      if (!(await deps.isActiveStaff(s.staffId))) return end('ended');
      if (now.getTime() - s.lastSeenAt.getTime() >= TOUCH_EVERY_MS) await db.prisma.consoleSession.update({ where: { id: s.id }, data: { lastSeenAt: now } });
      return { ok: true, session: { id: s.id, staffId: s.staffId, csrf: s.csrf, language: s.language, createdAt: s.createdAt } };
    },

    async setLanguage(sessionId: string, language: string) {
      await db.prisma.consoleSession.update({ where: { id: sessionId }, data: { language } });
    },

    async end(sessionId: string, now = new Date()) {
      await db.prisma.consoleSession.updateMany({ where: { id: sessionId, endedAt: null }, data: { endedAt: now } });
    },

    /** Every open session of a staff member (they were removed). */
    async endAllOf(staffId: string, now = new Date()): Promise<number> {
      return (await db.prisma.consoleSession.updateMany({ where: { staffId, endedAt: null }, data: { endedAt: now } })).count;
    },

    /** Links and sessions a day past their end are deleted (nightly). */
    async purge(now = new Date()): Promise<number> {
      const day = new Date(now.getTime() - 86_400_000);
      const links = await db.prisma.consoleLink.deleteMany({ where: { expiresAt: { lt: day } } });
      const sessions = await db.prisma.consoleSession.deleteMany({ where: { OR: [{ endedAt: { lt: day } }, { lastSeenAt: { lt: new Date(day.getTime() - SESSION_IDLE_MS) } }] } });
      return links.count + sessions.count;
    },
  };
}

/** Whether a POST's token is the session's (constant time). */
export function csrfMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export type ConsoleAuth = ReturnType<typeof createConsoleAuth>;
