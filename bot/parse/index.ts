/** Answer parsers for the self-report chat. Each returns a ParseResult: the value, or an error code from PARSE_ERRORS. */
export type { Money, ParseError, ParseResult, SpokenMoney } from './numbers.ts';
export { MAX_MONEY_YUAN, PARSE_ERRORS, describeMoney, isApproximate, normalizeAnswer, parseChineseNumber, parseCount, parseSpokenMoney, perYear } from './numbers.ts';
export { parsePhone } from './phone.ts';
export type { IdNumber } from './id-number.ts';
export { parseIdNumber, residentIdCheckChar } from './id-number.ts';
export type { DatePrecision, SpokenDate, SpokenDatePrecision } from './date.ts';
export { EARLIEST_EVENT_DATE, describeDate, parseSpokenDate } from './date.ts';
export { parseChoiceNumbers, parseYesNo } from './choices.ts';
export { onlyNumbers, parsePlaceText, townshipKey, villageKey } from './place.ts';
