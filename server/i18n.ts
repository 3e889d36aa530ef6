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
