import { describe, expect, it } from 'vitest';
import {
  DAY,
  DURATION_MESSAGE,
  durationProblem,
  formatDuration,
  formatFraction,
  HOUR,
  MINUTE,
  parseDuration,
  parseRenewBefore,
  renewBeforeProblem,
  SECOND,
  WEEK,
} from '../../src/util/duration.ts';

describe('parseDuration', () => {
  it.each([
    ['30d', 30 * DAY],
    ['12h', 12 * HOUR],
    ['90m', 90 * MINUTE],
    ['45s', 45 * SECOND],
    ['2w', 2 * WEEK],
    ['1d12h', DAY + 12 * HOUR],
    ['1w2d3h4m5s', WEEK + 2 * DAY + 3 * HOUR + 4 * MINUTE + 5 * SECOND],
    ['P30D', 30 * DAY],
    ['PT12H', 12 * HOUR],
    ['P1DT2H', DAY + 2 * HOUR],
    ['P2W', 2 * WEEK],
    ['PT90M', 90 * MINUTE],
    ['PT45S', 45 * SECOND],
    ['p1dt2h', DAY + 2 * HOUR],
  ])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    '30',
    'd',
    '0d',
    '0s',
    '-5d',
    '1.5d',
    '12h1d',
    '1d 12h',
    ' 30d',
    '30D',
    '1M',
    'P',
    'PT',
    'P1DT',
    'P1Y',
    'P1M',
    'PT0S',
    'P0D',
    '30 days',
    '99999999999999999999d',
  ])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('durationProblem explains', () => {
    expect(durationProblem('30d')).toBeUndefined();
    expect(durationProblem('P30D')).toBeUndefined();
    expect(durationProblem('thirty')).toBe(DURATION_MESSAGE);
    expect(durationProblem(30)).toBe(DURATION_MESSAGE);
    expect(durationProblem('0d')).toMatch(/longer than zero/);
    expect(durationProblem('P1Y')).toMatch(/years and months/);
    expect(DURATION_MESSAGE).toBe('must be a duration like 30d, 12h or P30D');
  });
});

describe('formatDuration', () => {
  it.each([
    [29 * DAY + 4 * HOUR + 59 * MINUTE, '29d 5h'], // rounded to the nearest hour
    [29 * DAY + 4 * HOUR + 29 * MINUTE, '29d 4h'],
    [90 * DAY - SECOND, '90d'],
    [90 * DAY, '90d'],
    [3 * HOUR + 12 * MINUTE + 29 * SECOND, '3h 12m'],
    [3 * HOUR, '3h'],
    [2 * MINUTE + 5 * SECOND, '2m 5s'],
    [45 * SECOND, '45s'],
    [45 * SECOND + 900, '45s'],
    [500, '<1s'],
    [0, '0s'],
    [-3 * DAY, '-3d'],
    [160 * HOUR, '6d 16h'],
  ])('%d → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('parseRenewBefore', () => {
  it('defaults to one third', () => {
    expect(parseRenewBefore(undefined)).toEqual({ kind: 'fraction', fraction: 1 / 3 });
  });
  it.each([
    ['1/3', 1 / 3],
    ['1/2', 0.5],
    ['2/5', 0.4],
    [' 1 / 4 ', 0.25],
    ['0.25', 0.25],
    [0.25, 0.25],
    [0.33, 0.33],
  ])('fraction %j', (value, fraction) => {
    expect(parseRenewBefore(value)).toEqual({ kind: 'fraction', fraction });
  });
  it.each([
    ['30d', 30 * DAY],
    ['P30D', 30 * DAY],
    ['36h', 36 * HOUR],
  ])('duration %j', (value, ms) => {
    expect(parseRenewBefore(value)).toEqual({ kind: 'duration', ms });
  });
  it.each([
    0,
    1,
    1.5,
    -0.2,
    Number.NaN,
    '0',
    '1',
    '3/3',
    '4/3',
    '1/0',
    '0/3',
    'abc',
    '',
    '-30d',
    '0d',
  ])('rejects %j', (value) => {
    expect(parseRenewBefore(value)).toBeUndefined();
    expect(renewBeforeProblem(value)).toMatch(/fraction/);
  });
  it('renewBeforeProblem accepts valid values', () => {
    expect(renewBeforeProblem(undefined)).toBeUndefined();
    expect(renewBeforeProblem('1/3')).toBeUndefined();
    expect(renewBeforeProblem(true)).toBeDefined();
  });
  it('formats fractions', () => {
    expect(formatFraction(1 / 3)).toBe('1/3');
    expect(formatFraction(0.25)).toBe('1/4');
    expect(formatFraction(0.4)).toBe('2/5');
    expect(formatFraction(0.37)).toBe('0.37');
  });
});
