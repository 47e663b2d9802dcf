import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import { deviceNames } from '../model/boundary.ts';
import { compareProblems, fieldPath, type Problem } from '../model/problems.ts';
import type { Route, RoutesFile, Settings } from '../model/types.ts';
import { parseYamlMapping, yamlParseStats } from '../model/yaml-source.ts';
import { BUILT_IN_PLATFORMS, type PlatformRegistry } from '../platforms/registry.ts';
import { compileRoutes } from '../routing/match.ts';
import type { DeviceCheckContext } from './device-checks.ts';
import { type DeviceRecord, MAX_DEVICE_FILE_BYTES, validateDeviceFile } from './device-file.ts';
import { nameDuplicateKeys, placeFindingsQuoting } from './hints.ts';
import { schemaFindings } from './schema.ts';
import { routesFindings, settingsFindings } from './settings-checks.ts';

export const SETTINGS_FILE = 'routing/settings.yaml';
export const ROUTES_FILE = 'routing/routes.yaml';
export const INVENTORY_DIR = 'inventory';
const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

export interface Repository {
  root: string;
  /** Undefined when settings.yaml is missing or invalid. */
  settings: Settings | undefined;
  /** Undefined when routes.yaml is missing or invalid. */
  routes: Route[] | undefined;
  records: DeviceRecord[];
  problems: Problem[];
  /** The platforms it was validated against; absent → the built-in ones. */
  platforms?: PlatformRegistry;
}

export interface LoadOptions {
  /** Platforms routes may name (default: the built-in ones); tests add a test-only platform here. */
  platforms?: PlatformRegistry;
}

/** Reads a file unless it is larger than `limit`: then only its size is returned, nothing is read. */
export function readCapped(path: string, limit: number): { bytes: Uint8Array } | { tooLarge: number } {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > limit) return { tooLarge: size };
    const buffer = Buffer.allocUnsafe(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buffer, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return { bytes: buffer.subarray(0, read) };
  } finally {
    closeSync(fd);
  }
}

function tooLargeProblem(file: string, size: number, limit: number): Problem {
  return fileProblem(file, `file is ${size} bytes; the limit is ${limit} bytes`);
}

function fileProblem(file: string, message: string, severity: 'error' | 'warning' = 'error'): Problem {
  return { severity, file, line: 1, column: 1, field: '', message };
}

function loadConfig<T>(
  root: string,
  file: string,
  schema: 'settings' | 'routes',
  problems: Problem[],
  extra: (value: T) => ReturnType<typeof settingsFindings>,
  platforms: PlatformRegistry = BUILT_IN_PLATFORMS,
): T | undefined {
  let read: ReturnType<typeof readCapped>;
  try {
    read = readCapped(join(root, file), MAX_CONFIG_FILE_BYTES);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    problems.push(
      fileProblem(file, code === 'ENOENT' ? `${file} is missing` : `cannot read ${file} (${code})`),
    );
    return undefined;
  }
  if ('tooLarge' in read) {
    problems.push(tooLargeProblem(file, read.tooLarge, MAX_CONFIG_FILE_BYTES));
    return undefined;
  }
  const parsed = parseYamlMapping(file, read.bytes, MAX_CONFIG_FILE_BYTES);
  const text = () => new TextDecoder().decode(read.bytes);
  if (!parsed.ok) {
    problems.push(...nameDuplicateKeys(parsed.problems, text));
    return undefined;
  }
  const findings = schemaFindings(schema, parsed.value, platforms);
  if (findings.length > 0) {
    problems.push(...placeFindingsQuoting(file, parsed.source, findings, text));
    return undefined;
  }
  const value = parsed.value as T;
  const more = extra(value);
  problems.push(...placeFindingsQuoting(file, parsed.source, more, text));
  return more.some((f) => f.severity === 'error') ? undefined : value;
}

/** Lists inventory/<data_center>/<system_name>.yaml files; anything else under inventory/ is a problem. */
export function listDeviceFiles(root: string, problems: Problem[]): string[] {
  const files: string[] = [];
  let centers: import('node:fs').Dirent[];
  try {
    centers = readdirSync(join(root, INVENTORY_DIR), { withFileTypes: true });
  } catch {
    problems.push(
      fileProblem(INVENTORY_DIR, 'there is no inventory/ folder: no devices are managed', 'warning'),
    );
    return files;
  }
  const ignored = (name: string) => name.startsWith('.') || /^readme(\.md)?$/i.test(name);
  for (const center of centers.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const centerPath = `${INVENTORY_DIR}/${center.name}`;
    if (ignored(center.name)) continue;
    if (!center.isDirectory()) {
      problems.push(
        fileProblem(
          centerPath,
          'device files belong in a data center folder: inventory/<data_center>/<system_name>.yaml',
        ),
      );
      continue;
    }
    for (const entry of readdirSync(join(root, centerPath), { withFileTypes: true })) {
      const path = `${centerPath}/${entry.name}`;
      if (ignored(entry.name)) continue;
      if (entry.isSymbolicLink())
        problems.push(fileProblem(path, 'symbolic links are not followed in inventory/'));
      else if (entry.isDirectory()) {
        problems.push(
          fileProblem(path, 'folders nest one level only: inventory/<data_center>/<system_name>.yaml'),
        );
      } else if (!entry.name.endsWith('.yaml')) {
        problems.push(fileProblem(path, 'every file under inventory/ is a device and must end in .yaml'));
      } else files.push(path);
    }
  }
  return files.sort();
}

export interface ValidationBatch {
  root: string;
  files: string[];
  settings: Settings | undefined;
  routes: Route[] | undefined;
  platforms?: PlatformRegistry;
}

export interface BatchResult {
  records: DeviceRecord[];
  problems: Problem[];
}

/**
 * Where this process's loading time went, summed over every loadRepository (`OTTR_TIMINGS=1 ottr …` prints
 * it): reading device files, and parsing plus checking them.
 */
export const loadTimings = {
  files: 0,
  readMs: 0,
  validateMs: 0,
  /** Files parsed by the positional parser: only those with a finding that needs a position. */
  get positionalParses() {
    return yamlParseStats.positional;
  },
};

/** Validates device files one after another (a clean file takes tens of microseconds). */
export function validateDeviceFiles(batch: ValidationBatch): BatchResult {
  const router = batch.routes ? compileRoutes(batch.routes) : undefined;
  const context: DeviceCheckContext = {
    settings: batch.settings,
    route: router,
    ...(batch.platforms ? { platforms: batch.platforms } : {}),
  };
  const records: DeviceRecord[] = [];
  const problems: Problem[] = [];
  for (const file of batch.files) {
    let read: ReturnType<typeof readCapped>;
    const readStart = performance.now();
    loadTimings.files++;
    try {
      read = readCapped(join(batch.root, file), MAX_DEVICE_FILE_BYTES);
    } catch (error) {
      const message = `cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
      problems.push(fileProblem(file, message));
      records.push({
        file,
        system_name: basename(file, '.yaml'),
        first_error: message,
      });
      continue;
    }
    if ('tooLarge' in read) {
      problems.push(tooLargeProblem(file, read.tooLarge, MAX_DEVICE_FILE_BYTES));
      records.push({
        file,
        system_name: basename(file, '.yaml'),
        first_error: 'file too large',
      });
      continue;
    }
    const validateStart = performance.now();
    loadTimings.readMs += validateStart - readStart;
    const result = validateDeviceFile(file, read.bytes, context);
    loadTimings.validateMs += performance.now() - validateStart;
    records.push(result.record);
    problems.push(...result.problems);
  }
  return { records, problems };
}

/** Loads and validates the whole repository: settings, routes and every device file. Never throws on bad input. */
export async function loadRepository(root: string, options: LoadOptions = {}): Promise<Repository> {
  const platforms = options.platforms ?? BUILT_IN_PLATFORMS;
  const problems: Problem[] = [];
  const settings = loadConfig<Settings>(root, SETTINGS_FILE, 'settings', problems, settingsFindings);
  const routesFile = loadConfig<RoutesFile>(
    root,
    ROUTES_FILE,
    'routes',
    problems,
    (value) => routesFindings(value.routes, settings, platforms),
    platforms,
  );
  const routes = routesFile?.routes;
  const files = listDeviceFiles(root, problems);
  const result = validateDeviceFiles({ root, files, settings, routes, platforms });
  problems.push(...result.problems);
  problems.push(...duplicateNameProblems(root, result.records));
  problems.push(...nameClaimProblems(root, result.records));
  problems.sort(compareProblems);
  return { root, settings, routes, records: result.records, problems, platforms };
}

/** system_name must be unique across data centers (within one folder the file name already is). */
function duplicateNameProblems(root: string, records: DeviceRecord[]): Problem[] {
  const first = new Map<string, DeviceRecord>();
  const problems: Problem[] = [];
  for (const record of records) {
    const earlier = first.get(record.system_name);
    if (!earlier) {
      first.set(record.system_name, record);
      continue;
    }
    const message = `"${record.system_name}" is also the system_name of ${earlier.file}; system names are unique`;
    const at = locateField(root, record.file, ['system_name']);
    problems.push({ severity: 'error', file: record.file, ...at, field: 'system_name', message });
    delete record.device;
    record.first_error ??= `system_name: ${message}`;
  }
  return problems;
}

/**
 * A certificate name belongs to one device. Two devices may hold it only when each lists the other in
 * shares_names_with (an HA pair); otherwise both are refused, so a new file can neither take a name from the
 * device that holds it nor get a certificate for it. shares_names_with must name known devices, both ways.
 */
function nameClaimProblems(root: string, records: DeviceRecord[]): Problem[] {
  const problems: Problem[] = [];
  const valid = records.filter((r) => r.device);
  const byName = new Map(valid.map((r) => [r.system_name, r]));
  const holders = new Map<string, { record: DeviceRecord; path: (string | number)[] }[]>();
  for (const record of valid)
    for (const { name, path } of deviceNames(record.device!)) {
      const list = holders.get(name.toLowerCase()) ?? [];
      list.push({ record, path });
      holders.set(name.toLowerCase(), list);
    }
  const shares = (a: DeviceRecord, b: DeviceRecord) =>
    a.device!.shares_names_with?.includes(b.system_name) === true;
  const refused = new Map<DeviceRecord, string>();
  const refuse = (record: DeviceRecord, path: (string | number)[], message: string) => {
    const at = locateField(root, record.file, path);
    problems.push({ severity: 'error', file: record.file, ...at, field: fieldPath(path), message });
    if (!refused.has(record)) refused.set(record, `${fieldPath(path)}: ${message}`);
  };
  for (const [name, list] of holders) {
    if (list.length < 2) continue;
    for (const { record, path } of list) {
      const others = list.filter((o) => o.record !== record);
      const unshared = others.filter((o) => !(shares(record, o.record) && shares(o.record, record)));
      if (unshared.length === 0) continue;
      refuse(
        record,
        path,
        `"${name}" is also a name of ${unshared.map((o) => `${o.record.system_name} (${o.record.file})`).join(', ')}; a name belongs to one device unless both list each other in shares_names_with`,
      );
    }
  }
  for (const record of valid) {
    (record.device!.shares_names_with ?? []).forEach((other, i) => {
      const peer = byName.get(other);
      const path = ['shares_names_with', i];
      if (other === record.system_name) refuse(record, path, 'a device cannot share names with itself');
      else if (!peer) refuse(record, path, `"${other}" is not a valid device of the inventory`);
      else if (!shares(peer, record))
        refuse(record, path, `"${other}" does not list ${record.system_name} in its shares_names_with`);
    });
  }
  for (const [record, reason] of refused) {
    delete record.device;
    delete record.route;
    record.first_error ??= reason;
  }
  return problems;
}

/** Where a field is written in a file, found again with the positional parser (for the rare cross-file problem). */
function locateField(
  root: string,
  file: string,
  path: (string | number)[],
): { line: number; column: number } {
  try {
    const read = readCapped(join(root, file), MAX_DEVICE_FILE_BYTES);
    if ('bytes' in read) {
      const parsed = parseYamlMapping(file, read.bytes, MAX_DEVICE_FILE_BYTES);
      if (parsed.ok) return parsed.source.locate(path, 'value');
    }
  } catch {
    // fall through to the top of the file
  }
  return { line: 1, column: 1 };
}
