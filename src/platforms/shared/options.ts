import { DURATION_MESSAGE, parseDuration } from '../../util/duration.ts';
import { OptionsError } from '../manifest.ts';

type Raw = Readonly<Record<string, unknown>> | undefined;

/** A duration option (`commit_timeout: 10m`) in ms, or `fallbackMs` when absent. */
export function durationOption(raw: Raw, option: string, fallbackMs: number): number {
  const value = raw?.[option];
  if (value === undefined) return fallbackMs;
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || ms <= 0) throw new OptionsError(option, DURATION_MESSAGE);
  return ms;
}

/** A string option, or `fallback` when absent. */
export function stringOption<T extends string = string>(raw: Raw, option: string, fallback: T): T;
export function stringOption<T extends string = string>(raw: Raw, option: string): T | undefined;
export function stringOption(raw: Raw, option: string, fallback?: string): string | undefined {
  const value = raw?.[option];
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw new OptionsError(option, 'must be a string');
  return value;
}

/** The schema of a duration option, with its description. */
export const durationSchema = (description: string) => ({ type: 'string', description }) as const;
