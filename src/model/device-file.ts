import { basename } from 'node:path';
import { type DeviceCheckContext, deviceContextFindings, deviceSemanticFindings } from './checks.ts';
import { placeFindings } from './findings.ts';
import type { Problem } from './problems.ts';
import { schemaFindings } from './schema.ts';
import type { Device } from './types.ts';
import { type Position, parseYamlMapping } from './yaml-source.ts';

export const MAX_DEVICE_FILE_BYTES = 64 * 1024;

/** One inventory file after validation. */
export interface DeviceRecord {
  file: string;
  /** From the document when it has one, else the file's base name. */
  system_name: string;
  /** Where system_name is written, for problems found across files. */
  system_name_at: Position;
  /** Present only when the file has no errors. */
  device?: Device;
  route?: { name: string; platform: string; index: number };
  /** Why no routing rule matched (the device is then also invalid). */
  no_route?: string;
  /** The first error, for plans that skip the device. */
  first_error?: string;
}

/** Parses and validates one device file: YAML, schema, semantics and (with a context) settings and routing. */
export function validateDeviceFile(
  file: string,
  bytes: Uint8Array,
  context: DeviceCheckContext,
): { record: DeviceRecord; problems: Problem[] } {
  const fallbackName = basename(file).replace(/\.yaml$/, '');
  const parsed = parseYamlMapping(file, bytes, MAX_DEVICE_FILE_BYTES);
  if (!parsed.ok) {
    const record: DeviceRecord = { file, system_name: fallbackName, system_name_at: { line: 1, column: 1 } };
    const first = parsed.problems[0];
    if (first) record.first_error = first.message;
    return { record, problems: parsed.problems };
  }
  const { value, source } = parsed;
  const findings = schemaFindings('device', value);
  const schemaValid = findings.length === 0;
  findings.push(...deviceSemanticFindings(value, file));
  const record: DeviceRecord = {
    file,
    system_name: typeof value.system_name === 'string' ? value.system_name : fallbackName,
    system_name_at: source.locate(['system_name'], 'value'),
  };
  if (schemaValid) {
    const device = value as unknown as Device;
    const context_ = deviceContextFindings(device, context);
    findings.push(...context_.findings);
    if (context_.route?.matched) {
      const { route, index } = context_.route;
      record.route = { name: route.name, platform: route.platform, index };
    } else if (context_.route) {
      record.no_route = context_.route.reason;
    }
    if (!findings.some((f) => f.severity === 'error')) record.device = device;
  }
  const problems = placeFindings(file, source, findings);
  const firstError = problems.find((p) => p.severity === 'error');
  if (firstError)
    record.first_error = `${firstError.field ? `${firstError.field}: ` : ''}${firstError.message}`;
  return { record, problems };
}
