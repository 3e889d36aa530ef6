import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { start, type Running } from '../../server/main.ts';
import { createTokens } from '../../server/intake/tokens.ts';
import { freshDatabase, testConfig, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';

// ID numbers through the API and the exports, by the reader's scope: a county token reads the whole number;
// a township or village token reads the first 6 and the last 4 characters, for an 18-character resident ID as
// for a 20-character disability card number (残疾人证号: the resident ID and 2 digits).

const NOW = new Date('2026-12-01T02:00:00Z');
const RESIDENT = '53092519900101123X';
const DISABILITY = '53092519850505201442'; // resident ID 530925198505052014 + category 4, level 2

describe(`ID numbers by the reader's scope, ${TEST_DB}`, () => {
  let place: TestPlace;
  let app: Running;
  const tok = { county: '', township: '', village: '' };
  const ids = { resident: '', disability: '' };

  beforeAll(async () => {
    place = await freshDatabase();
    app = await start(testConfig(place), memoryLogger().logger, { host: '127.0.0.1', now: () => NOW });
    const tokens = createTokens(app.db);
    tok.county = (await tokens.create('county office', { kind: 'county', code: '530925' })).token;
    tok.township = (await tokens.create('勐库镇', { kind: 'township', code: '530925102' })).token;
    tok.village = (await tokens.create('冰岛村', { kind: 'village', code: '530925102208' })).token;
    ids.resident = (await app.intake.receiveLead(newLead({ villageCode: '530925102208', idNumber: RESIDENT }), NOW)).id;
    // another village of the same township: the township token sees it, the village token does not
    ids.disability = (await app.intake.receiveLead(newLead({ villageCode: '530925102212', idNumber: DISABILITY }), new Date(NOW.getTime() + 60_000))).id;
  });
  afterAll(async () => {
    await app.stop();
    await place.cleanup();
  });

  const get = (path: string, token: string) => request(app.url).get(path).set('authorization', `Bearer ${token}`);
  const idOf = async (token: string, leadId: string) => {
    const r = await get(`/api/v1/leads/${leadId}`, token);
    expect(r.status).toBe(200);
    return r.body.idNumber as string;
  };

  it('a township token reads both ID numbers masked, by id and in the list; the county reads them whole', async () => {
    expect(await idOf(tok.township, ids.resident)).toBe('530925********123X');
    expect(await idOf(tok.township, ids.disability)).toBe('530925**********1442');
    const list = await get('/api/v1/leads', tok.township);
    expect(Object.fromEntries(list.body.items.map((l: { id: string; idNumber: string }) => [l.id, l.idNumber]))).toEqual({
      [ids.resident]: '530925********123X',
      [ids.disability]: '530925**********1442',
    });
    expect(await idOf(tok.county, ids.resident)).toBe(RESIDENT);
    expect(await idOf(tok.county, ids.disability)).toBe(DISABILITY);
  });

  it('a village token finds no lead of another village, and reads its own disability card number masked: the first 6 and the last 4 of all 20', async () => {
    const village = await get(`/api/v1/leads/${ids.disability}`, tok.village);
    expect(village.status).toBe(404); // another village
    const other = (await createTokens(app.db).create('公弄村', { kind: 'village', code: '530925102212' })).token;
    const masked = await idOf(other, ids.disability);
    expect(masked).toBe('530925**********1442');
    expect(masked).toHaveLength(20);
  });

  it('the CSV export masks the ID numbers for a township and gives them whole to the county', async () => {
    const township = await get('/api/v1/exports/leads.csv', tok.township);
    expect(township.status).toBe(200);
    expect(township.text).toContain('530925********123X');
    expect(township.text).toContain('530925**********1442');
    expect(township.text).not.toContain(RESIDENT);
    expect(township.text).not.toContain(DISABILITY);
    expect(township.text).not.toContain('19850505'); // the birth date inside the number
    const county = await get('/api/v1/exports/leads.csv', tok.county);
    expect(county.text).toContain(RESIDENT);
    expect(county.text).toContain(DISABILITY);
  });
});
