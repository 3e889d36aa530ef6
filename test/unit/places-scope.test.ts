import { describe, expect, it } from 'vitest';
import { SAMPLE_DEPLOYMENT } from '../../server/config.ts';
import { loadDeployment, placeIndex, type StaffRole } from '../../server/deployment.ts';
import {
  countyOfPlace,
  covers,
  coversPlace,
  escalationChain,
  escalationTarget,
  placeFor,
  placeKindOf,
  placesOverlap,
  roleOfScope,
  scopeOf,
  villagesIn,
  type PlaceCodes,
  type Scope,
} from '../../server/places/scope.ts';

// Who sees which place and who is above whom (server/places/scope.ts), on the sample deployment: 双江 (530925),
// 6 townships, 78 villages. 城子村 and 亥公村 are neighbours in 勐库镇; 公很社区 is in 勐勐镇.
const places = placeIndex(loadDeployment(SAMPLE_DEPLOYMENT));
const COUNTY = '530925';
const MENGKU = '530925102';
const MENGMENG = '530925101';
const CHENGZI = '530925102201';
const HAIGONG = '530925102202';
const GONGHEN = '530925101001';

const at = (villageCode: string, extra: { contactStaffId?: string | null } = {}): PlaceCodes & { contactStaffId?: string | null } => ({
  countyCode: villageCode.slice(0, 6),
  townshipCode: villageCode.slice(0, 9),
  villageCode,
  ...extra,
});
const staff = (role: StaffRole, placeCode: string, id = `${role}-1`) => ({ id, role, placeCode, countyCode: placeCode.slice(0, 6) });

describe('the scope of a staff member', () => {
  it('is their role\'s place: a village for village staff, a township for a reviewer, the county for an officer', () => {
    expect(scopeOf(staff('village_cadre', CHENGZI))).toEqual({ kind: 'village', code: CHENGZI });
    expect(scopeOf(staff('township_reviewer', MENGKU))).toEqual({ kind: 'township', code: MENGKU });
    expect(scopeOf(staff('county_officer', COUNTY))).toEqual({ kind: 'county', code: COUNTY });
    // a contact person sees only the households assigned to them
    expect(scopeOf(staff('contact_person', CHENGZI, 'cp-7'))).toEqual({ kind: 'village', code: CHENGZI, contactStaffId: 'cp-7' });
    expect(scopeOf({ role: 'contact_person', placeCode: CHENGZI }).contactStaffId).toBe('none');
  });

  it('a token\'s place acts in the role of its level, the inverse of a role\'s place', () => {
    for (const role of ['village_cadre', 'township_reviewer', 'county_officer'] as const) expect(roleOfScope(placeKindOf(role))).toBe(role);
    expect(placeKindOf('contact_person')).toBe('village');
  });
});

describe('whether a scope covers a lead', () => {
  it('a village cadre covers their village and not the neighbouring one', () => {
    const cadre = staff('village_cadre', CHENGZI);
    expect(covers(cadre, at(CHENGZI))).toBe(true);
    expect(covers(cadre, at(HAIGONG))).toBe(false);
    expect(covers(scopeOf(cadre), at(HAIGONG))).toBe(false);
  });

  it('a contact person covers only the households assigned to them', () => {
    const cp = staff('contact_person', CHENGZI, 'cp-7');
    expect(covers(cp, at(CHENGZI, { contactStaffId: 'cp-7' }))).toBe(true);
    expect(covers(cp, at(CHENGZI, { contactStaffId: 'cp-8' }))).toBe(false);
    expect(covers(cp, at(CHENGZI, { contactStaffId: null }))).toBe(false);
    expect(covers(cp, at(HAIGONG, { contactStaffId: 'cp-7' }))).toBe(false);
  });

  it('a township reviewer covers the villages of their township and not another township\'s', () => {
    const reviewer = staff('township_reviewer', MENGKU);
    expect(covers(reviewer, at(CHENGZI))).toBe(true);
    expect(covers(reviewer, at(HAIGONG))).toBe(true);
    expect(covers(reviewer, at(GONGHEN))).toBe(false);
  });

  it('a county officer covers their county only', () => {
    const officer = staff('county_officer', COUNTY);
    expect(covers(officer, at(CHENGZI))).toBe(true);
    expect(covers(officer, at(GONGHEN))).toBe(true);
    expect(covers(officer, at('530926101201'))).toBe(false);
  });

  it('an API token\'s scope is read the same way, by the lead\'s codes at its level', () => {
    expect(covers({ kind: 'township', code: MENGMENG }, at(GONGHEN))).toBe(true);
    expect(covers({ kind: 'township', code: MENGMENG }, at(CHENGZI))).toBe(false);
    // the lead's own township field is what counts, not its village code's digits
    expect(covers({ kind: 'township', code: MENGKU }, { countyCode: COUNTY, townshipCode: MENGMENG, villageCode: CHENGZI })).toBe(false);
  });
});

describe('whether a scope covers a place, by its code', () => {
  it('a village covers itself only, not its neighbour nor its township', () => {
    const village: Scope = { kind: 'village', code: CHENGZI };
    expect(coversPlace(village, CHENGZI)).toBe(true);
    expect(coversPlace(village, HAIGONG)).toBe(false);
    expect(coversPlace(village, MENGKU)).toBe(false);
  });

  it('a township its villages; a county its townships and villages; neither another one\'s', () => {
    expect(coversPlace({ kind: 'township', code: MENGKU }, HAIGONG)).toBe(true);
    expect(coversPlace({ kind: 'township', code: MENGKU }, GONGHEN)).toBe(false);
    expect(coversPlace({ kind: 'county', code: COUNTY }, MENGMENG)).toBe(true);
    expect(coversPlace({ kind: 'county', code: COUNTY }, GONGHEN)).toBe(true);
    expect(coversPlace({ kind: 'county', code: COUNTY }, '530926101')).toBe(false);
  });

  it('agrees with covers and villagesIn for every place and village of the sample deployment', () => {
    const scopes: Scope[] = [
      ...[...places.counties.keys()].map((code) => ({ kind: 'county' as const, code })),
      ...[...places.townships.keys()].map((code) => ({ kind: 'township' as const, code })),
      ...[...places.villages.keys()].map((code) => ({ kind: 'village' as const, code })),
    ];
    for (const scope of scopes) {
      const inside = new Set(villagesIn(places, scope).map((x) => x.village.code));
      for (const { village, township, county } of places.villages.values()) {
        const lead = { countyCode: county.code, townshipCode: township.code, villageCode: village.code };
        expect(coversPlace(scope, village.code), `${scope.kind} ${scope.code} / ${village.code}`).toBe(inside.has(village.code));
        expect(covers(scope, lead), `${scope.kind} ${scope.code} / ${village.code}`).toBe(inside.has(village.code));
      }
    }
  });
});

describe('the villages in a scope (sample deployment, 530925)', () => {
  it('the county: all 78, in the deployment file\'s order', () => {
    const all = villagesIn(places, { kind: 'county', code: COUNTY });
    expect(all).toHaveLength(78);
    expect(all[0]!.village.code).toBe(GONGHEN);
    expect(all.map((x) => x.village.code)).toEqual([...places.villages.keys()]);
  });

  it('a township: its own villages only, with their township', () => {
    const mengku = villagesIn(places, { kind: 'township', code: MENGKU });
    expect(mengku).toHaveLength(17);
    expect(mengku.every((x) => x.township.code === MENGKU && x.village.code.startsWith(MENGKU))).toBe(true);
    expect(mengku.map((x) => x.village.code)).toContain(CHENGZI);
    expect(mengku.map((x) => x.village.code)).not.toContain(GONGHEN);
    expect(mengku[0]!.township.name).toBe('勐库镇');
    expect(villagesIn(places, { kind: 'township', code: MENGMENG })).toHaveLength(18);
  });

  it('a village: itself (a contact person\'s too); a place outside the deployment: none', () => {
    expect(villagesIn(places, { kind: 'village', code: CHENGZI }).map((x) => x.village.name)).toEqual(['城子村']);
    expect(villagesIn(places, scopeOf(staff('contact_person', HAIGONG))).map((x) => x.village.code)).toEqual([HAIGONG]);
    expect(villagesIn(places, { kind: 'county', code: '530926' })).toEqual([]);
    expect(villagesIn(places, { kind: 'township', code: '530925199' })).toEqual([]);
  });
});

describe('the escalation chain', () => {
  const lead = at(CHENGZI);

  it('from a village cadre: the village, then its township\'s reviewers, then the county\'s officers', () => {
    expect(escalationChain('village_cadre', lead)).toEqual([
      ['village_cadre', CHENGZI],
      ['township_reviewer', MENGKU],
      ['county_officer', COUNTY],
    ]);
  });

  it('from a township reviewer: the township, then the county; from a county officer: the county alone', () => {
    expect(escalationChain('township_reviewer', lead)).toEqual([
      ['township_reviewer', MENGKU],
      ['county_officer', COUNTY],
    ]);
    expect(escalationChain('county_officer', lead)).toEqual([['county_officer', COUNTY]]);
  });

  it('each role\'s place for a lead', () => {
    expect(placeFor('village_cadre', lead)).toBe(CHENGZI);
    expect(placeFor('contact_person', lead)).toBe(CHENGZI);
    expect(placeFor('township_reviewer', lead)).toBe(MENGKU);
    expect(placeFor('county_officer', lead)).toBe(COUNTY);
  });

  it('whom a staff member escalates to: village staff to their township\'s reviewers, a reviewer to the county, an officer to no one', () => {
    expect(escalationTarget(places, staff('village_cadre', GONGHEN))).toEqual(['township_reviewer', MENGMENG]);
    expect(escalationTarget(places, staff('contact_person', CHENGZI))).toEqual(['township_reviewer', MENGKU]);
    expect(escalationTarget(places, staff('township_reviewer', MENGKU))).toEqual(['county_officer', COUNTY]);
    expect(escalationTarget(places, staff('county_officer', COUNTY))).toBeUndefined();
    // a village no longer in the place tree has no township to go to
    expect(escalationTarget(places, staff('village_cadre', '530925102299'))).toBeUndefined();
  });
});

describe('codes', () => {
  it('the county of a place of the deployment', () => {
    expect(countyOfPlace(places, 'village', CHENGZI)).toBe(COUNTY);
    expect(countyOfPlace(places, 'township', MENGKU)).toBe(COUNTY);
    expect(countyOfPlace(places, 'county', COUNTY)).toBe(COUNTY);
    // a code at the wrong level, or not in the deployment
    expect(countyOfPlace(places, 'township', CHENGZI)).toBeUndefined();
    expect(countyOfPlace(places, 'county', '530926')).toBeUndefined();
  });

  it('two places overlap when one holds the other', () => {
    expect(placesOverlap(COUNTY, CHENGZI)).toBe(true);
    expect(placesOverlap(CHENGZI, MENGKU)).toBe(true);
    expect(placesOverlap(CHENGZI, CHENGZI)).toBe(true);
    expect(placesOverlap(CHENGZI, HAIGONG)).toBe(false);
    expect(placesOverlap(MENGKU, MENGMENG)).toBe(false);
  });
});
