import { basename } from 'node:path';
import { parsePlainMapping } from '../model/fast-yaml.ts';
import type { Problem } from '../model/problems.ts';
import type { Device } from '../model/types.ts';
import { parseYamlMapping } from '../model/yaml-source.ts';
import { type DeviceCheckContext, deviceContextFindings, deviceSemanticFindings } from './device-checks.ts';
import { nameDuplicateKeys, placeFindingsQuoting } from './hints.ts';
import { schemaFindings } from './schema.ts';

export const MAX_DEVICE_FILE_BYTES = 64 * 1024;

/** Device files start with this line so editors complete and check them against the schema. */
export const SCHEMA_HEADER = '# yaml-language-server: $schema=';
const HEADER_BYTES = new TextEncoder().encode(SCHEMA_HEADER);

function hasSchemaHeader(bytes: Uint8Array): boolean {
  if (bytes.length < HEADER_BYTES.length) return false;
  for (let i = 0; i < HEADER_BYTES.length; i++) if (bytes[i] !== HEADER_BYTES[i]) return false;
  return true;
}

/** The file as the positional parser read it (only files with problems are decoded again, to quote them). */
function fileText(bytes: Uint8Array): string {
  return new TextDecoder('utf-8').decode(bytes);
}

/** One inventory file after validation. */
export interface DeviceRecord {
  file: string;
  /** From the document when it has one, else the file's base name. */
  system_name: string;
  /** Present only when the file has no errors. */
  device?: Device;
  route?: { name: string; platform: string; index: number };
  /** Why no routing rule matched (the device is then also invalid). */
  no_route?: string;
  /** The first error, for plans that skip the device. */
  first_error?: string;
}

function routedRecord(file: string, device: Device, context: DeviceCheckContext) {
  const checked = deviceContextFindings(device, context);
  const record: DeviceRecord = { file, system_name: device.system_name };
  if (checked.route?.matched) {
    const { route, index } = checked.route;
    record.route = { name: route.name, platform: route.platform, index };
  } else if (checked.route) {
    record.no_route = checked.route.reason;
  }
  return { record, findings: checked.findings };
}

/**
 * A clean file (the usual case) is accepted from the fast parser; a file with any finding, or anything
 * beyond plain YAML, goes through the positional parser, which is authoritative and places every problem.
 */
function fastValidate(
  file: string,
  bytes: Uint8Array,
  context: DeviceCheckContext,
): DeviceRecord | undefined {
  if (bytes.length > MAX_DEVICE_FILE_BYTES || !hasSchemaHeader(bytes)) return undefined;
  const value = parsePlainMapping(bytes);
  if (!value) return undefined;
  if (schemaFindings('device', value).length > 0 || deviceSemanticFindings(value, file).length > 0)
    return undefined;
  const device = value as unknown as Device;
  const { record, findings } = routedRecord(file, device, context);
  if (findings.length > 0) return undefined;
  record.device = device;
  return record;
}

/** Parses and validates one device file: YAML, schema, semantics and (with a context) settings and routing. */
export function validateDeviceFile(
  file: string,
  bytes: Uint8Array,
  context: DeviceCheckContext,
): { record: DeviceRecord; problems: Problem[] } {
  const fast = fastValidate(file, bytes, context);
  if (fast) return { record: fast, problems: [] };

  const fallbackName = basename(file).replace(/\.yaml$/, '');
  const parsed = parseYamlMapping(file, bytes, MAX_DEVICE_FILE_BYTES);
  if (!parsed.ok) {
    const record: DeviceRecord = { file, system_name: fallbackName };
    const problems = nameDuplicateKeys(parsed.problems, () => fileText(bytes));
    const first = problems[0];
    if (first) record.first_error = `${first.field ? `${first.field}: ` : ''}${first.message}`;
    return { record, problems };
  }
  const { value, source } = parsed;
  const findings = schemaFindings('device', value);
  const schemaValid = findings.length === 0;
  findings.push(...deviceSemanticFindings(value, file));
  let record: DeviceRecord = {
    file,
    system_name: typeof value.system_name === 'string' ? value.system_name : fallbackName,
  };
  if (schemaValid) {
    const device = value as unknown as Device;
    const routed = routedRecord(file, device, context);
    record = routed.record;
    findings.push(...routed.findings);
    if (!findings.some((f) => f.severity === 'error')) record.device = device;
  }
  const problems = placeFindingsQuoting(file, source, findings, () => fileText(bytes));
  if (!hasSchemaHeader(bytes)) {
    problems.unshift({
      severity: 'warning',
      file,
      line: 1,
      column: 1,
      field: '',
      message: `the first line should be "${SCHEMA_HEADER}../../schemas/device.schema.json" so editors check the file`,
    });
  }
  const firstError = problems.find((p) => p.severity === 'error');
  if (firstError)
    record.first_error = `${firstError.field ? `${firstError.field}: ` : ''}${firstError.message}`;
  return { record, problems };
}
