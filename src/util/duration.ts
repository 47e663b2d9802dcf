/**
 * Durations as users write them in settings (`30d`, `12h`, `1d12h`, ISO-8601 `P30D`, `PT12H`, `P1DT2H`) and the
 * `renew_before` setting (a fraction of the lifetime or a duration). Pure; no Date arithmetic on calendars:
 * a day is always 24 h, so years and months (whose length varies) are refused.
 */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const WEEK = 7 * DAY;

/**
 * Compact form: units in descending order, each at most once, at least one: `2w`, `30d`, `1d12h`, `90m`, `45s`.
 * Lowercase only, so that `1M` is never taken for a minute when a month was meant.
 */
export const COMPACT_DURATION_RE = /^(?=\d)(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
/** ISO-8601 duration without years and months: `P2W`, `P30D`, `PT12H`, `P1DT2H30M`, `PT45S`. */
export const ISO_DURATION_RE = /^P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i;
/** A fraction written as a string: `1/3`, `2/5`. */
export const FRACTION_RE = /^\s*(\d+)\s*\/\s*(\d+)\s*$/;
/** A decimal fraction written as a string: `0.25`, `.5`. */
export const DECIMAL_RE = /^\s*(\d*\.\d+|\d+)\s*$/;

export const DURATION_MESSAGE = 'must be a duration like 30d, 12h or P30D';
export const RENEW_BEFORE_MESSAGE =
  'must be a fraction of the certificate lifetime between 0 and 1 (like "1/3" or 0.25) or a duration like 30d, 12h or P30D';

const UNITS = [WEEK, DAY, HOUR, MINUTE, SECOND] as const;

function sum(match: RegExpExecArray): number | undefined {
  let total = 0;
  for (let i = 0; i < UNITS.length; i++) {
    const group = match[i + 1];
    if (group !== undefined) total += Number(group) * UNITS[i]!;
  }
  return Number.isSafeInteger(total) && total > 0 ? total : undefined;
}

/** Milliseconds of a duration such as `30d`, `1d12h`, `2w`, `P30D`, `PT12H`, `P1DT2H`; undefined unless valid and > 0. */
export function parseDuration(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const compact = COMPACT_DURATION_RE.exec(text);
  if (compact) return sum(compact);
  const iso = ISO_DURATION_RE.exec(text);
  if (iso) return sum(iso);
  return undefined;
}

/** Why `text` is not an accepted duration, or undefined when it is one (for schema / semantic validation). */
export function durationProblem(text: unknown): string | undefined {
  if (typeof text !== 'string') return DURATION_MESSAGE;
  if (parseDuration(text) !== undefined) return undefined;
  if (/^P.*[YM]/i.test(text) && !/T.*M/i.test(text)) {
    return `${DURATION_MESSAGE} (years and months are not accepted: their length varies)`;
  }
  if (COMPACT_DURATION_RE.test(text) || ISO_DURATION_RE.test(text))
    return `${DURATION_MESSAGE} (longer than zero)`;
  return DURATION_MESSAGE;
}

/**
 * Compact human text for a duration: the two most significant units, rounded to the smaller one (`29d 4h`,
 * `3h 12m`, `2m 5s`, `45s`; a 90-day certificate's 89d 23h 59m 59s is `90d`); whole values drop the zero second
 * unit. Below one second: `<1s`; negative: `-3d`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < SECOND) return ms === 0 ? '0s' : '<1s';
  if (ms >= DAY) return pair(ms, DAY, 'd', HOUR, 'h');
  if (ms >= HOUR) return pair(ms, HOUR, 'h', MINUTE, 'm');
  if (ms >= MINUTE) return pair(ms, MINUTE, 'm', SECOND, 's');
  return `${Math.floor(ms / SECOND)}s`;
}

function pair(ms: number, big: number, bigUnit: string, small: number, smallUnit: string): string {
  const total = Math.round(ms / small);
  const ratio = big / small;
  const major = Math.floor(total / ratio);
  const minor = total - major * ratio;
  return minor === 0 ? `${major}${bigUnit}` : `${major}${bigUnit} ${minor}${smallUnit}`;
}

export type RenewBefore = { kind: 'fraction'; fraction: number } | { kind: 'duration'; ms: number };

export const DEFAULT_RENEW_BEFORE: RenewBefore = Object.freeze({ kind: 'fraction', fraction: 1 / 3 });

/**
 * The `renew_before` setting: a fraction of the lifetime left (`"1/3"`, `"0.25"`, `0.25`; 0 < f < 1) or a duration
 * (`"30d"`, `"P30D"`). Undefined input gives the default, one third; an invalid value gives undefined.
 */
export function parseRenewBefore(value: string | number | undefined): RenewBefore | undefined {
  if (value === undefined) return DEFAULT_RENEW_BEFORE;
  if (typeof value === 'number') return fraction(value);
  if (typeof value !== 'string') return undefined;
  const ratio = FRACTION_RE.exec(value);
  if (ratio) {
    const denominator = Number(ratio[2]);
    return denominator === 0 ? undefined : fraction(Number(ratio[1]) / denominator);
  }
  const decimal = DECIMAL_RE.exec(value);
  if (decimal) return fraction(Number(decimal[1]));
  const ms = parseDuration(value.trim());
  return ms === undefined ? undefined : { kind: 'duration', ms };
}

function fraction(f: number): RenewBefore | undefined {
  return Number.isFinite(f) && f > 0 && f < 1 ? { kind: 'fraction', fraction: f } : undefined;
}

/** Why a `renew_before` value is not accepted, or undefined when it is. */
export function renewBeforeProblem(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') return RENEW_BEFORE_MESSAGE;
  return parseRenewBefore(value) === undefined ? RENEW_BEFORE_MESSAGE : undefined;
}

/** A fraction as people write it: `1/3`, `2/5`, `1/4`; one that is no simple ratio as a decimal (`0.37`). */
export function formatFraction(f: number): string {
  for (let denominator = 2; denominator <= 12; denominator++) {
    const numerator = Math.round(f * denominator);
    if (numerator > 0 && Math.abs(f * denominator - numerator) < 1e-9) return `${numerator}/${denominator}`;
  }
  return String(Number(f.toFixed(4)));
}
