import type { Settings } from '../model/types.ts';
import type { DeviceRecord } from '../repository/device-file.ts';
import type { PlanCandidate, PlanExclusion, PlanInput } from './build-plan.ts';

/** Turns validated inventory records into the planner's input: valid routed devices are candidates. */
export function planInput(
  records: readonly DeviceRecord[],
  settings: Settings,
  now: Date,
  options: { force?: boolean; only?: string[] } = {},
): PlanInput {
  const candidates: PlanCandidate[] = [];
  const excluded: PlanExclusion[] = [];
  for (const record of records) {
    if (record.device && record.route) {
      candidates.push({ device: record.device, file: record.file, route: record.route });
    } else if (record.no_route !== undefined) {
      excluded.push({
        system_name: record.system_name,
        file: record.file,
        kind: 'no_route',
        reason: record.no_route,
      });
    } else {
      const reason = record.first_error ?? 'invalid device file';
      excluded.push({ system_name: record.system_name, file: record.file, kind: 'invalid', reason });
    }
  }
  const input: PlanInput = { candidates, excluded, settings, now };
  if (options.force) input.force = true;
  if (options.only && options.only.length > 0) input.only = options.only;
  return input;
}
