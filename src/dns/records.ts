import type { Device } from '../model/types.ts';
import { type ChallengeCname, challengeCnames } from './alias.ts';

export interface NeededRecord extends ChallengeCname {
  devices: string[];
}

/** The challenge CNAMEs for a set of devices, each with the devices that need it. */
export function neededRecords(devices: readonly Device[], delegateZone: string): NeededRecord[] {
  const byName = new Map<string, NeededRecord>();
  for (const device of devices) {
    const names = [device.common_name, ...(device.subject_alternative_names ?? [])];
    for (const record of challengeCnames(names, delegateZone)) {
      const entry = byName.get(record.name) ?? { ...record, devices: [] };
      if (!entry.devices.includes(device.system_name)) entry.devices.push(device.system_name);
      byName.set(record.name, entry);
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The records as zone-file lines, each commented with the devices that need it. */
export function zoneFileLines(records: readonly NeededRecord[], ttl: number): string[] {
  const width = Math.max(0, ...records.map((r) => r.name.length + 1));
  return records.map(
    (r) => `${`${r.name}.`.padEnd(width)} ${ttl} IN CNAME ${r.target}.  ; ${r.devices.join(', ')}`,
  );
}
