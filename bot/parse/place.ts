/**
 * Typed place names: people type "冰岛", "冰岛村" or "勐库镇"; the administrative suffix is dropped for matching.
 */
const PLACE_SUFFIX = /(?:村委会|社区|村|镇|乡|街道)$/u;

export function placeQuery(s: string): string {
  return s.trim().normalize('NFKC').replace(PLACE_SUFFIX, '');
}
