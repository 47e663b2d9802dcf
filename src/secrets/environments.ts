import type { SecretPurpose, Settings } from '../model/types.ts';
import type { DeviceRecord } from '../repository/device-file.ts';
import {
  deviceSecrets,
  environmentFor,
  REPORT_ENVIRONMENT,
  reportSecrets,
  SYNC_ENVIRONMENT,
} from './job-secrets.ts';

export interface EnvironmentSecret {
  name: string;
  purpose: SecretPurpose | 'undeclared';
  /** The devices whose rotation reads it (empty for the report job's secrets). */
  used_by: string[];
}

export interface EnvironmentNeeds {
  environment: string;
  /** The data center whose rotate jobs run there; undefined for the report environment. */
  data_center?: string;
  secrets: EnvironmentSecret[];
}

/**
 * Which secret each GitHub environment must hold: pki-<data_center> the credentials and account keys its valid
 * devices read, pki-report the notification and event secrets and the App key. Pure: from settings and records.
 */
export function secretsByEnvironment(
  settings: Settings,
  records: readonly DeviceRecord[],
): EnvironmentNeeds[] {
  const purposeOf = (name: string): EnvironmentSecret['purpose'] =>
    Object.hasOwn(settings.secrets ?? {}, name) ? settings.secrets[name]!.purpose : 'undeclared';
  const byDc = new Map<string, Map<string, string[]>>();
  for (const dc of Object.keys(settings.runners.by_data_center ?? {})) byDc.set(dc, new Map());
  for (const record of records) {
    const device = record.device;
    if (!device) continue;
    const names = byDc.get(device.data_center) ?? new Map<string, string[]>();
    byDc.set(device.data_center, names);
    for (const name of deviceSecrets(device, settings)) {
      const users = names.get(name) ?? [];
      users.push(device.system_name);
      names.set(name, users);
    }
  }
  const needs: EnvironmentNeeds[] = [...byDc.keys()].sort().map((dc) => ({
    environment: environmentFor(dc),
    data_center: dc,
    secrets: [...byDc.get(dc)!.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, users]) => ({ name, purpose: purposeOf(name), used_by: users.sort() })),
  }));
  const report = new Set(reportSecrets(settings));
  const app = Object.entries(settings.secrets ?? {})
    .filter(([, declared]) => declared.purpose === 'github_app')
    .map(([name]) => name);
  for (const name of app) report.add(name);
  needs.push({
    environment: REPORT_ENVIRONMENT,
    secrets: [...report].sort().map((name) => ({ name, purpose: purposeOf(name), used_by: [] })),
  });
  needs.push({
    environment: SYNC_ENVIRONMENT,
    secrets: app.sort().map((name) => ({ name, purpose: purposeOf(name), used_by: [] })),
  });
  return needs;
}
