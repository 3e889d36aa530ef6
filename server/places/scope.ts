import type { placeIndex, StaffRole } from '../deployment.ts';

/**
 * Places, scopes and escalation: the one answer to "which place does this person or token see" and "who is above
 * whom". An API token is scoped to a place; a staff member's scope is their role's place; a lead belongs to a
 * village, its township and its county. Division codes nest (a village's 12 digits begin with its township's 9,
 * which begin with its county's 6; the deployment file is checked for it), so a place covers another when its code
 * is the other's beginning. Pure: no database, no deployment loading; the place tree is passed in where needed.
 */

/** The level of a place: what a scope or a staff member covers. */
export type ScopeKind = 'county' | 'township' | 'village';

/** The places a reader or actor sees: an API token's scope, or a staff member's place. */
export type Scope = {
  kind: ScopeKind;
  code: string;
  /** a contact person sees only the households assigned to them, not the whole village */
  contactStaffId?: string | undefined;
};

/** Where a lead is: its village, township and county codes. */
export type PlaceCodes = { countyCode: string; townshipCode: string; villageCode: string };

/** A staff member as far as their place goes. */
export type StaffPlace = { id?: string; role: string; placeCode: string };

export type PlaceIndex = ReturnType<typeof placeIndex>;

/** How many digits a division code of each level has. */
export const CODE_DIGITS = { county: 6, township: 9, village: 12 } as const satisfies Record<ScopeKind, number>;

/** The lead's field, and the lead table's column, that holds its code at each level. */
export const PLACE_FIELD = { county: 'countyCode', township: 'townshipCode', village: 'villageCode' } as const satisfies Record<ScopeKind, keyof PlaceCodes>;
export const PLACE_COLUMN = { county: 'county_code', township: 'township_code', village: 'village_code' } as const satisfies Record<ScopeKind, string>;

/** The level of a staff role's place: county officers a county, township reviewers a township, village staff a village. */
export const placeKindOf = (role: StaffRole): ScopeKind => (role === 'county_officer' ? 'county' : role === 'township_reviewer' ? 'township' : 'village');

/** The roles that act for a lead on the procedure, from the bottom up: each one's escalation goes to the next. */
export const CHAIN = ['village_cadre', 'township_reviewer', 'county_officer'] as const;
export type ChainRole = (typeof CHAIN)[number];

/** The role an API token acts in: its place's level (a village token as the village cadre, and so on). */
export const roleOfScope = (kind: ScopeKind): ChainRole => (kind === 'county' ? 'county_officer' : kind === 'township' ? 'township_reviewer' : 'village_cadre');

/**
 * The place a staff member sees and acts on, in the same shape as an API token's scope. A contact person sees
 * only the households assigned to them (their phones are for those visits), not every lead of the village.
 */
export const scopeOf = (s: StaffPlace): Scope => ({
  kind: placeKindOf(s.role as StaffRole),
  code: s.placeCode,
  ...(s.role === 'contact_person' ? { contactStaffId: s.id ?? 'none' } : {}),
});

/** A lead's code at a level. */
export const codeAt = (kind: ScopeKind, lead: PlaceCodes): string => lead[PLACE_FIELD[kind]];

/**
 * Whether a lead falls in a scope, or in a staff member's place (for a contact person: is one of their
 * households).
 */
export function covers(who: Scope | StaffPlace, lead: PlaceCodes & { contactStaffId?: string | null | undefined }): boolean {
  const scope = 'kind' in who ? who : scopeOf(who);
  if (scope.contactStaffId && lead.contactStaffId !== scope.contactStaffId) return false;
  return codeAt(scope.kind, lead) === scope.code;
}

/**
 * Whether a place (a village's code, or a township's or the county's) lies in a scope's place, by its code.
 * The place only: a contact person's scope covers their whole village here.
 */
export function coversPlace(scope: Pick<Scope, 'kind' | 'code'>, code: string): boolean {
  return scope.kind === 'village' ? code === scope.code : code.startsWith(scope.code);
}

/** Whether two places meet: one holds the other (a county and its township, a village and itself). */
export const placesOverlap = (a: string, b: string): boolean => a.startsWith(b) || b.startsWith(a);

/** The villages of the deployment in a scope's place, in the deployment file's order, with their township and county. */
export function villagesIn(places: PlaceIndex, scope: Pick<Scope, 'kind' | 'code'>) {
  return [...places.villages.values()].filter(({ village, township, county }) => codeAt(scope.kind, { countyCode: county.code, townshipCode: township.code, villageCode: village.code }) === scope.code);
}

/** The county of a place of the deployment at a level, or undefined when the deployment has no such place. */
export function countyOfPlace(places: PlaceIndex, kind: ScopeKind, code: string): string | undefined {
  return kind === 'village' ? places.villages.get(code)?.county.code : kind === 'township' ? places.townships.get(code)?.county.code : places.counties.get(code)?.code;
}

/** The code of a role's place for a lead: the village's for village staff, its township's, its county's. */
export const placeFor = (role: StaffRole, lead: PlaceCodes): string => codeAt(placeKindOf(role), lead);

/**
 * Who is told when someone lets a lead go overdue or cannot be reached: village staff (cadres and contact persons)
 * go to their township's reviewers, township reviewers to their county's officers; county officers have no one above.
 */
export const ABOVE: Record<StaffRole, ChainRole | undefined> = {
  contact_person: 'township_reviewer',
  village_cadre: 'township_reviewer',
  township_reviewer: 'county_officer',
  county_officer: undefined,
};

/**
 * The chain for a lead from a role up: the role at the lead's place, then each one above at theirs, as
 * [role, place code] pairs. Who must act on a lead is the first of them with anyone in it; escalations go to
 * the ones after the first.
 */
export function escalationChain(role: ChainRole, lead: PlaceCodes): Array<[ChainRole, string]> {
  const chain: Array<[ChainRole, string]> = [];
  for (let r: ChainRole | undefined = role; r; r = ABOVE[r]) chain.push([r, placeFor(r, lead)]);
  return chain;
}

/**
 * The role and place a staff member escalates to (see ABOVE), or undefined for a county officer or a village no
 * longer in the deployment's place tree.
 */
export function escalationTarget(places: PlaceIndex, s: { role: StaffRole; placeCode: string; countyCode: string }): [ChainRole, string] | undefined {
  const up = ABOVE[s.role];
  if (!up) return undefined;
  const code = up === 'county_officer' ? s.countyCode : places.villages.get(s.placeCode)?.township.code;
  return code ? [up, code] : undefined;
}
