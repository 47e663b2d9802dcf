import { UsageError } from './command.ts';

/** `--now` for reproducible plans; default: the real clock. */
export function parseNow(value: string | undefined): Date {
  if (value === undefined) return new Date();
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) {
    throw new UsageError(
      `--now must be an ISO-8601 date or date-time like 2026-11-23T06:00:00Z (got "${value}")`,
    );
  }
  return new Date(ms);
}

/** `--devices a,b c` → ['a', 'b', 'c'] */
export function parseDeviceList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(/[\s,]+/).filter(Boolean);
  if (names.length === 0) throw new UsageError('--devices needs at least one system_name');
  return names;
}
