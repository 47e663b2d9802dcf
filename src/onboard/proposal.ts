/**
 * A device file proposed by onboarding or discovery, rendered and checked the way `ottr validate` would check it
 * once it is in the repository: schema, semantics, settings, routing, and system_name unique across the
 * inventory. Nothing here writes.
 */

import type { Problem } from '../model/problems.ts';
import { compareProblems } from '../model/problems.ts';
import { renderDeviceYaml } from '../model/render-device.ts';
import type { Device } from '../model/types.ts';
import { parseYamlMapping } from '../model/yaml-source.ts';
import { MAX_DEVICE_FILE_BYTES, validateDeviceFile } from '../repository/device-file.ts';
import type { Repository } from '../repository/load.ts';
import { compileRoutes } from '../routing/match.ts';

export interface CheckedProposal {
  /** `inventory/<data_center>/<system_name>.yaml`. */
  file: string;
  text: string;
  /** Errors and warnings, placed at their line in `text`. */
  problems: Problem[];
  valid: boolean;
  /** The routing rule and platform driver the device gets, when a rule matches. */
  route?: { name: string; platform: string };
}

/** Where a device's file lives: `inventory/<data_center>/<system_name>.yaml`. */
export function deviceFilePath(device: Pick<Device, 'data_center' | 'system_name'>): string {
  return `inventory/${device.data_center}/${device.system_name}.yaml`;
}

/** A new device file's text: the schema line, the fields in the documented order, short comments. */
export function renderProposedDevice(device: Device): string {
  return renderDeviceYaml(device, { comments: true });
}

export interface CheckOptions {
  /**
   * system_name → file of devices this batch proposes besides the repository's own, so two proposals cannot
   * take the same name either.
   */
  claimed?: ReadonlyMap<string, string>;
}

/**
 * Checks `text` as the content of `file` in `repository`. The file itself (when it exists: an update, or onboarding
 * with --force) does not count against the uniqueness of its own system_name.
 */
export function checkProposal(
  repository: Repository,
  file: string,
  text: string,
  options: CheckOptions = {},
): CheckedProposal {
  const route = repository.routes ? compileRoutes(repository.routes) : undefined;
  const checked = validateDeviceFile(file, new TextEncoder().encode(text), {
    settings: repository.settings,
    route,
  });
  const problems = [...checked.problems];
  const name = checked.record.system_name;
  const other =
    repository.records.find((r) => r.system_name === name && r.file !== file)?.file ??
    [...(options.claimed ?? [])].find(([claimed, at]) => claimed === name && at !== file)?.[1];
  if (other) {
    problems.push({
      severity: 'error',
      file,
      ...locate(file, text, ['system_name']),
      field: 'system_name',
      message: `"${name}" is also the system_name of ${other}; system names are unique`,
    });
  }
  problems.sort(compareProblems);
  const result: CheckedProposal = {
    file,
    text,
    problems,
    valid: !problems.some((p) => p.severity === 'error'),
  };
  if (checked.record.route)
    result.route = { name: checked.record.route.name, platform: checked.record.route.platform };
  return result;
}

function locate(file: string, text: string, path: string[]): { line: number; column: number } {
  const parsed = parseYamlMapping(file, new TextEncoder().encode(text), MAX_DEVICE_FILE_BYTES);
  return parsed.ok ? parsed.source.locate(path, 'value') : { line: 1, column: 1 };
}
