/**
 * Typed place names: people type "冰岛", "冰岛村", "冰岛村民委员会", "勐库镇" or "我家在冰岛村". The words around
 * the name and the administrative suffix are dropped for matching; a suffix that names a level (乡, 镇, 村, 社区)
 * says which level is meant, so "大文乡" is the township and "大文村" its village of the same name.
 */
const VILLAGE_SUFFIX = /(?:社区居民委员会|社区居委会|村民委员会|居民委员会|村委会|居委会|社区|嘎查|村)$/u;
const TOWNSHIP_SUFFIX = /(?:民族乡|街道办事处|街道|镇|乡)$/u;
const AROUND = /^(?:我们?家?(?:是|在|住在?)?|住在?|在)|(?:的人|的|人|呀|啊|吧|哦|呢)$/gu;

export type PlaceText = { name: string; level?: 'village' | 'township' };

export function parsePlaceText(s: string): PlaceText {
  const text = s.normalize('NFKC').replace(/[\s，。！？、,.!?]/gu, '').replace(AROUND, '');
  if (VILLAGE_SUFFIX.test(text)) return { name: text.replace(VILLAGE_SUFFIX, ''), level: 'village' };
  if (TOWNSHIP_SUFFIX.test(text)) return { name: text.replace(TOWNSHIP_SUFFIX, ''), level: 'township' };
  return { name: text };
}

/** A place's name as typed names are compared with it: 冰岛村 → 冰岛, 公很社区 → 公很, 勐库镇 → 勐库. */
export function placeKey(name: string): string {
  const n = name.normalize('NFKC').replace(/\s/gu, '');
  return n.replace(VILLAGE_SUFFIX, '').replace(TOWNSHIP_SUFFIX, '') || n;
}
