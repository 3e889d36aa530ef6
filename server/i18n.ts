import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import i18next, { type TFunction, type i18n as I18n } from 'i18next';
import { REPO_ROOT } from './config.ts';

/** Languages, Chinese first. Every key must exist in each (a test checks). */
export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
export const LOCALES_DIR = join(REPO_ROOT, 'locales');

/** Reads locales/<language>/<namespace>.json. */
export function readLocales(dir = LOCALES_DIR): Record<string, Record<string, Record<string, unknown>>> {
  const resources: Record<string, Record<string, Record<string, unknown>>> = {};
  for (const lng of LANGUAGES) {
    resources[lng] = {};
    for (const file of readdirSync(join(dir, lng)).filter((f) => f.endsWith('.json'))) {
      resources[lng][file.replace(/\.json$/, '')] = JSON.parse(readFileSync(join(dir, lng, file), 'utf8'));
    }
  }
  return resources;
}

let instance: I18n | undefined;

/** One i18next instance for the process; callers take a fixed `t` per language, never the global language. */
export function i18n(): I18n {
  if (instance) return instance;
  const resources = readLocales();
  const created = i18next.createInstance();
  void created.init({
    resources,
    lng: 'zh-CN',
    fallbackLng: false,
    supportedLngs: [...LANGUAGES],
    ns: Object.keys(resources['zh-CN'] ?? {}),
    defaultNS: 'common',
    initAsync: false,
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  instance = created;
  return created;
}

export function tFor(lng: Language, ns = 'common'): TFunction {
  return i18n().getFixedT(lng, ns);
}

/** The language to answer in, from an Accept-Language header or a platform's language code. Chinese unless English is asked for. */
export function pickLanguage(code: string | undefined | null): Language {
  if (!code) return 'zh-CN';
  const first = code.split(',')[0]?.trim().toLowerCase() ?? '';
  return first.startsWith('en') ? 'en' : 'zh-CN';
}

/**
 * A `t` for hot paths (a reminder tick renders thousands of messages): i18next resolves each key once per
 * language, parameter names and count, with placeholders for the parameter values; later calls only put the
 * values in. Same words, same plural choice, a fraction of the cost.
 */
export function memoT(lng: Language, ns = 'common'): (key: string, params?: Record<string, unknown>) => string {
  const t = tFor(lng, ns);
  const cache = new Map<string, Array<string | { param: string }>>();
  return (key, params = {}) => {
    const names = Object.keys(params).filter((k) => k !== 'count').sort();
    const id = `${key}\u0000${names.join(',')}\u0000${String(params.count ?? '')}`;
    let parts = cache.get(id);
    if (!parts) {
      const marked: Record<string, unknown> = {};
      for (const k of names) marked[k] = `\u0001${k}\u0002`;
      if ('count' in params) marked.count = params.count;
      parts = t(key, marked)
        .split(/(\u0001[^\u0002]*\u0002)/)
        .filter((p) => p !== '')
        .map((p) => (p.startsWith('\u0001') ? { param: p.slice(1, -1) } : p));
      cache.set(id, parts);
    }
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : String(params[p.param] ?? '');
    return out;
  };
}
