/**
 * Typed place names: people type "冰岛", "冰岛村", "冰岛村民委员会", "勐库镇" or "我家在冰岛村". The words around
 * the name and the administrative suffix are dropped for matching; a suffix that names a level (乡, 镇, 村, 社区)
 * says which level is meant, so "大文乡" is the township and "大文村" its village of the same name.
 */
import { TOWNSHIP_SUFFIX, VILLAGE_SUFFIX } from '../../server/places/names.ts';

const AROUND = /^(?:我们?家?(?:是|在|住在?)?|住在?|在)|(?:的人|的|人|呀|啊|吧|哦|呢)$/gu;

/** `name`: the typed name without its suffix; `whole`: with it; `level`: what the suffix says, if any. */
export type PlaceText = { name: string; whole: string; level?: 'village' | 'township' };

export function parsePlaceText(s: string): PlaceText {
  const whole = s.normalize('NFKC').replace(/[\s\p{P}\p{S}]/gu, '').replace(AROUND, '');
  if (VILLAGE_SUFFIX.test(whole)) return { name: whole.replace(VILLAGE_SUFFIX, ''), whole, level: 'village' };
  if (TOWNSHIP_SUFFIX.test(whole)) return { name: whole.replace(TOWNSHIP_SUFFIX, ''), whole, level: 'township' };
  return { name: whole, whole };
}

export { villageKey, townshipKey } from '../../server/places/names.ts';

/** Text that is only numbers ("2", "１", "1、3"): at the place question it picks a button; anything else is a name. */
export function onlyNumbers(s: string): boolean {
  return /^[\d\s,，、;；.。]+$/u.test(s.normalize('NFKC'));
}
