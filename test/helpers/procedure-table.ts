import type { Role, Stage } from '../../server/intake/procedure.ts';

/**
 * The procedure written out once more, by hand, for the tests to hold the code to: the order of the stages and
 * who may make each move. It repeats server/intake/procedure.ts on purpose: a change there must be made here too.
 */
export const ORDER: Record<Stage, Stage[]> = {
  received: ['assigned', 'visited', 'not_included', 'duplicate', 'withdrawn'],
  assigned: ['visited', 'not_included', 'duplicate', 'withdrawn'],
  visited: ['compared', 'not_included', 'duplicate', 'withdrawn'],
  compared: ['publicized', 'not_included', 'duplicate', 'withdrawn'],
  publicized: ['township_reviewed', 'not_included', 'duplicate', 'withdrawn'],
  township_reviewed: ['confirmed', 'not_included', 'duplicate', 'withdrawn'],
  confirmed: [],
  not_included: [],
  duplicate: [],
  withdrawn: [],
};

/** Who may move a lead from a stage to another (judgement: the visit's first judgement). */
export function expectedRoles(from: Stage, to: Stage, judgement?: string): Role[] {
  if (!ORDER[from].includes(to)) return [];
  switch (to) {
    case 'assigned':
    case 'visited':
    case 'publicized':
      return ['village_cadre'];
    case 'compared':
      return judgement === 'does_not_fit' ? [] : ['county_officer'];
    case 'confirmed':
      return ['county_officer'];
    case 'township_reviewed':
      return ['township_reviewer'];
    case 'not_included':
      if (from === 'visited') return judgement === 'does_not_fit' ? ['township_reviewer', 'county_officer'] : ['county_officer'];
      if (from === 'publicized') return ['township_reviewer'];
      if (from === 'township_reviewed') return ['county_officer'];
      return [];
    case 'duplicate':
      return ['village_cadre', 'township_reviewer', 'county_officer'];
    case 'withdrawn':
      return ['household', 'village_cadre'];
    default:
      return [];
  }
}
