import { createHash, randomBytes } from 'node:crypto';
import type { Prisma } from '../db/generated/client.ts';
import type { Database } from '../db/index.ts';
import { placeIndex, type Deployment } from '../deployment.ts';
import { countyOfPlace, PLACE_FIELD, type Scope } from '../places/scope.ts';

/**
 * Bearer tokens for the intake API, each scoped to one place: a county, a township or a village. A token is
 * shown once when made; only its SHA-256 is stored. A token sees and changes only the leads of its place.
 * The Scope type, and what a scope covers, are server/places/scope.ts's.
 */
export type { Scope };
export type TokenInfo = { id: string; name: string; scope: Scope };

const hash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export function parseScope(text: string, deployment: Deployment): Scope {
  const m = /^(county|township|village):(\d+)$/.exec(text.trim());
  if (!m) throw new Error('scope must be county:<6 digits>, township:<9 digits> or village:<12 digits>');
  const scope = { kind: m[1] as Scope['kind'], code: m[2]! };
  if (countyOfPlace(placeIndex(deployment), scope.kind, scope.code) === undefined) throw new Error(`${scope.kind} ${scope.code} is not in the deployment's place tree`);
  return scope;
}

/** The leads a scope may see. */
export function scopeWhere(scope: Scope): Prisma.LeadWhereInput {
  const place: Prisma.LeadWhereInput = { [PLACE_FIELD[scope.kind]]: scope.code };
  return scope.contactStaffId ? { ...place, contactStaffId: scope.contactStaffId } : place;
}

export function createTokens(db: Database) {
  return {
    async create(name: string, scope: Scope): Promise<{ id: string; token: string }> {
      const token = `fp_${randomBytes(24).toString('base64url')}`;
      const row = await db.prisma.apiToken.create({ data: { name, scopeKind: scope.kind, scopeCode: scope.code, tokenHash: hash(token) } });
      return { id: row.id, token };
    },
    /** Revokes by id or by name; returns how many tokens stopped working. */
    async revoke(idOrName: string, now = new Date()): Promise<number> {
      const isId = /^[0-9a-f-]{36}$/.test(idOrName);
      const r = await db.prisma.apiToken.updateMany({ where: { revokedAt: null, ...(isId ? { id: idOrName } : { name: idOrName }) }, data: { revokedAt: now } });
      return r.count;
    },
    async list() {
      return db.prisma.apiToken.findMany({ orderBy: { createdAt: 'asc' }, select: { id: true, name: true, scopeKind: true, scopeCode: true, createdAt: true, revokedAt: true } });
    },
    async verify(token: string): Promise<TokenInfo | undefined> {
      const row = await db.prisma.apiToken.findUnique({ where: { tokenHash: hash(token) } });
      if (!row || row.revokedAt) return undefined;
      return { id: row.id, name: row.name, scope: { kind: row.scopeKind as Scope['kind'], code: row.scopeCode } };
    },
    /**
     * Records who read which leads' personal fields. One statement with the ids as one array parameter: an
     * export logs every lead it writes, and the ORM's createMany costs kilobytes of memory per row.
     */
    async logAccess(tokenId: string, leadIds: string[], action: string, at = new Date()): Promise<void> {
      if (leadIds.length === 0) return;
      await db.prisma.$executeRaw`INSERT INTO access_log (token_id, lead_id, at, action, via)
        SELECT ${tokenId}::uuid, lead::uuid, ${at.toISOString()}::timestamptz, ${action}, 'api' FROM unnest(${leadIds}::text[]) AS lead`;
    },
  };
}

export type Tokens = ReturnType<typeof createTokens>;
