import { Router, type Request, type Response, type NextFunction } from 'express';
import { z } from 'zod';
import type { Actor, Intake } from '../intake/leads.ts';
import { decodeCursor, type Queries } from '../intake/queries.ts';
import type { Tokens, TokenInfo } from '../intake/tokens.ts';
import { CATEGORIES, STAGES } from '../intake/procedure.ts';
import { roleOfScope } from '../places/scope.ts';
import { ASSESSED_CATEGORIES } from '../intake/assessment.ts';
import { oneLine, paragraph } from '../text.ts';
import { jsonBody, routeGroup, sendError } from './app.ts';
import type { Exports } from '../intake/export.ts';
import { pickLanguage, tFor } from '../i18n.ts';

/**
 * The county intake API (JSON, zod-validated): leads with filters and cursors, one lead with its events, moves
 * through the procedure, counts. Every request carries a bearer token scoped to a place; a lead outside the
 * token's place does not exist for it. Every read of personal fields is written to the access log.
 */

/** A date the queue can hold: refused outside 2000–2099 (a year-0 date would overflow the database's date range). */
const date = z.iso.date().refine((d) => d >= '2000-01-01' && d <= '2099-12-31', 'must be a date from 2000-01-01 to 2099-12-31');
export const listQuery = z.strictObject({
  stage: z.enum(STAGES).optional(),
  township: z.string().regex(/^\d{9}$/).optional(),
  village: z.string().regex(/^\d{12}$/).optional(),
  overdue: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  category: z.enum(ASSESSED_CATEGORIES).optional(),
  receivedFrom: date.optional(),
  receivedTo: date.optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const moveBody = z.strictObject({
  to: z.enum(STAGES),
  note: paragraph(1000).optional(),
  judgement: z.enum(['fits', 'does_not_fit']).optional(),
  reason: paragraph(500).min(1).optional(),
  publicityStart: date.optional(),
  publicityEnd: date.optional(),
  category: z.enum(CATEGORIES).optional(),
  duplicateOf: z.uuid().optional(),
});

/** A fact that is not a move: green-channel help, the contact person and plan after confirmation, a roll-back or removal (reason in `note`). */
export const recordBody = z.strictObject({
  record: z.enum(['green_channel', 'plan', 'follow_up', 'risk_eliminated', 'rollback', 'removal']),
  note: paragraph(1000).optional(),
  contactPerson: oneLine(50).min(1).optional(),
  /** plan: the contact person as a staff member of the lead's village (they get the follow-up reminders) */
  contactStaffId: z.uuid().optional(),
});

type Authed = Request & { token?: TokenInfo };

function issues(e: z.ZodError) {
  return e.issues.map((i) => ({ path: i.path.join('.'), problem: i.code === 'unrecognized_keys' ? `unknown field(s): ${(i as { keys: string[] }).keys.join(', ')}` : i.message }));
}

export function apiRouter(deps: { intake: Intake; queries: Queries; tokens: Tokens; exports: Exports; now?: () => Date }) {
  const { intake, queries, tokens } = deps;
  const now = deps.now ?? (() => new Date());
  const r = Router();

  r.use(routeGroup('/api/v1'));
  r.use(async (req: Authed, res: Response, next: NextFunction) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    const info = m ? await tokens.verify(m[1]!) : undefined;
    if (!info) return sendError(req, res, 401, 'unauthorized', 'api.unauthorized');
    req.token = info;
    next();
  });
  // The body is read only once the token is known.
  r.use(jsonBody('64kb'));

  r.get('/leads', async (req: Authed, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) return sendError(req, res, 400, 'bad_request', 'api.bad_request', {}, issues(q.error));
    const { cursor, limit, ...filters } = q.data;
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (after === null || (after && !('createdAt' in after))) return sendError(req, res, 400, 'bad_cursor', 'api.bad_cursor');
    const page = await queries.list(req.token!.scope, filters, { after, limit }, now());
    await tokens.logAccess(req.token!.id, page.items.map((l) => l.id), 'list');
    res.json(page);
  });

  r.get('/leads/:id', async (req: Authed, res) => {
    const id = z.uuid().safeParse(req.params.id);
    const lead = id.success ? await queries.get(req.token!.scope, id.data, now()) : undefined;
    if (!lead) return sendError(req, res, 404, 'lead_not_found', 'api.lead_not_found');
    await tokens.logAccess(req.token!.id, [lead.id], 'read');
    res.json(lead);
  });

  r.post('/leads/:id/events', async (req: Authed, res) => {
    const id = z.uuid().safeParse(req.params.id);
    if (!id.success || !(await queries.inScope(req.token!.scope, id.data))) return sendError(req, res, 404, 'lead_not_found', 'api.lead_not_found');
    const scope = req.token!.scope;
    // A token acts in the role of its place's level, under the same role table as the chat desk.
    const actor: Actor = { role: roleOfScope(scope.kind), scope, id: `token:${req.token!.id}` };
    const isRecord = req.body && typeof req.body === 'object' && 'record' in req.body;
    let result: Awaited<ReturnType<Intake['moveAs']>>;
    if (isRecord) {
      const rec = recordBody.safeParse(req.body);
      if (!rec.success) return sendError(req, res, 400, 'bad_request', 'api.bad_request', {}, issues(rec.error));
      result = await intake.recordAs(actor, id.data, rec.data.record, rec.data, now());
    } else {
      const body = moveBody.safeParse(req.body ?? {});
      if (!body.success) return sendError(req, res, 400, 'bad_request', 'api.bad_request', {}, issues(body.error));
      result = await intake.moveAs(actor, id.data, body.data, now());
    }
    if (!result.ok) {
      const { code, params } = result.refusal;
      if (code === 'not_found') return sendError(req, res, 404, 'lead_not_found', 'api.lead_not_found');
      if (code === 'not_your_move') {
        const t = tFor(pickLanguage(req.get('accept-language')));
        const roles = (params?.roles as string[] | undefined) ?? [];
        const names = roles.length ? roles.map((r) => t(`api.role.${r}`)).join(t('api.role_separator')) : t('api.nobody');
        return sendError(req, res, 403, code, 'api.not_your_move', { roles: names }, params);
      }
      if (code === 'original_not_found') return sendError(req, res, 422, code, 'api.original_not_found');
      return sendError(req, res, 409, code, `api.refusal.${code}`, flatten(params ?? {}), params);
    }
    const lead = await queries.get(scope, id.data, now());
    await tokens.logAccess(req.token!.id, [id.data], isRecord ? 'record' : 'move');
    res.status(201).json(lead);
  });

  r.get('/exports/leads.:format', async (req: Authed, res) => {
    const format = req.params.format;
    if (format !== 'xlsx' && format !== 'csv') return sendError(req, res, 404, 'not_found', 'http.not_found');
    const lng = pickLanguage(req.get('accept-language'));
    const name = `leads-${req.token!.scope.kind}-${req.token!.scope.code}.${format}`;
    res.setHeader('content-type', format === 'xlsx' ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv; charset=utf-8');
    res.setHeader('content-disposition', `attachment; filename="${name}"`);
    const log = (ids: string[]) => tokens.logAccess(req.token!.id, ids, 'export');
    if (format === 'xlsx') await deps.exports.xlsx(req.token!.scope, res, lng, now(), log);
    else await deps.exports.csv(req.token!.scope, res, lng, now(), log);
  });

  r.get('/stats', async (req: Authed, res) => {
    res.json(await queries.stats(req.token!.scope, now()));
  });

  return r;
}

function flatten(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
}

/** The OpenAPI document of the intake API, at GET /api/openapi.json. Schemas come from the zod definitions. */
export function openApiDocument() {
  const error = { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} }, required: ['code', 'message'] } } };
  const listParams = Object.keys(listQuery.shape).map((name) => ({ name, in: 'query', required: false, schema: z.toJSONSchema(listQuery.shape[name as keyof typeof listQuery.shape], { io: 'input' }) }));
  const errors = (codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: 'error', content: { 'application/json': { schema: error } } }]));
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
  return {
    openapi: '3.1.0',
    info: { title: 'Self-report intake API', version: '1' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: { Move: z.toJSONSchema(moveBody), Record: z.toJSONSchema(recordBody), Error: error } },
    security: [{ bearer: [] }],
    paths: {
      '/api/v1/leads': { get: { summary: 'Leads of the token\'s place, newest first, with filters and a cursor', parameters: listParams, responses: { '200': { description: 'a page of leads' }, ...errors([400, 401]) } } },
      '/api/v1/leads/{id}': { get: { summary: 'One lead with its events', parameters: [idParam], responses: { '200': { description: 'the lead' }, ...errors([401, 404]) } } },
      '/api/v1/leads/{id}/events': {
        post: {
          summary: 'Move a lead through the procedure, or record green-channel help or the plan after confirmation',
          parameters: [idParam],
          requestBody: { required: true, content: { 'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/Move' }, { $ref: '#/components/schemas/Record' }] } } } },
          responses: { '201': { description: 'the lead after the move' }, ...errors([400, 401, 403, 404, 409, 422]) },
        },
      },
      '/api/v1/exports/leads.xlsx': { get: { summary: 'All leads of the token\'s place as XLSX (form columns, and the 入户排查情况汇总表 sheet)', responses: { '200': { description: 'the workbook' }, ...errors([401]) } } },
      '/api/v1/exports/leads.csv': { get: { summary: 'All leads of the token\'s place as CSV (UTF-8 with BOM)', responses: { '200': { description: 'the table' }, ...errors([401]) } } },
      '/api/v1/stats': { get: { summary: 'Counts by stage, overdue, and by village (villages without leads included)', responses: { '200': { description: 'counts' }, ...errors([401]) } } },
    },
  };
}
