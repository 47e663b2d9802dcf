/**
 * A sync plan as file contents: new devices rendered exactly as `ottr onboard` writes them, updated devices
 * edited in place (comments and layout kept, only the changed fields touched), each checked in the repository's
 * context before anything is written.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isScalar, parseDocument, Scalar, stringify } from 'yaml';
import type { Problem } from '../model/problems.ts';
import { quoteValuesOf } from '../model/render-device.ts';
import { checkProposal, deviceFilePath, renderProposedDevice } from '../onboard/proposal.ts';
import type { Repository } from '../repository/load.ts';
import { writeFileAtomic } from '../util/files.ts';
import { getPath, type InventoryDevice, type SyncPlan } from './sync-plan.ts';

export interface ProposedFile {
  kind: 'new' | 'update';
  /** The source's name for it (instance id, export line). */
  ref: string;
  file: string;
  text: string;
  problems: Problem[];
  valid: boolean;
}

/** The devices of a repository that validated, with their files. */
export function inventoryDevices(repository: Repository): InventoryDevice[] {
  return repository.records.flatMap((r) => (r.device ? [{ file: r.file, device: r.device }] : []));
}

const QUOTED = new Set(['os_version', 'ssh_host_key', 'tls_spki_sha256']);

/**
 * The existing file with only `paths` set to their values in `device`. When every change replaces a scalar that
 * is already there, only those values' bytes change (the rest of the file is byte for byte the same); adding or
 * removing fields goes through the YAML document, which keeps comments but may re-flow some of them.
 */
export function editDeviceText(text: string, device: object, paths: readonly string[][]): string {
  const doc = parseDocument(text, { schema: 'core' });
  const inPlace = scalarEdits(doc, device, paths);
  if (inPlace) {
    let out = text;
    for (const edit of inPlace.sort((a, b) => b.start - a.start))
      out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
    return out;
  }
  for (const path of paths) {
    const value = getPath(device, path);
    const node = doc.getIn(path, true);
    if (value === undefined) doc.deleteIn(path);
    // A scalar changes in place, so its comment stays with it.
    else if (isScalar(node) && (value === null || typeof value !== 'object')) node.value = value;
    else doc.setIn(path, doc.createNode(value));
  }
  quoteValuesOf(doc, QUOTED);
  return doc.toString({ lineWidth: 0 });
}

/** Text replacements for `paths` when each one is an existing scalar getting a new scalar value; else undefined. */
function scalarEdits(
  doc: ReturnType<typeof parseDocument>,
  device: object,
  paths: readonly string[][],
): { start: number; end: number; text: string }[] | undefined {
  const edits: { start: number; end: number; text: string }[] = [];
  for (const path of paths) {
    const value = getPath(device, path);
    const node = doc.getIn(path, true);
    if (value === undefined || value === null || typeof value === 'object') return undefined;
    if (!isScalar(node) || !node.range) return undefined;
    const quoted = QUOTED.has(path.at(-1)!) || node.type === 'QUOTE_DOUBLE';
    const rendered = stringify(value, {
      lineWidth: 0,
      ...(quoted ? { defaultStringType: Scalar.QUOTE_DOUBLE } : {}),
    }).trimEnd();
    if (rendered.includes('\n')) return undefined;
    edits.push({ start: node.range[0], end: node.range[1], text: rendered });
  }
  return edits;
}

/** Renders and checks every new and updated device of `plan` against `repository` (as it is on disk). */
export function proposedFiles(repository: Repository, plan: SyncPlan): ProposedFile[] {
  const claimed = new Map(plan.created.map((c) => [c.device.system_name, deviceFilePath(c.device)]));
  const files: ProposedFile[] = [];
  for (const created of plan.created) {
    const file = deviceFilePath(created.device);
    const checked = checkProposal(repository, file, renderProposedDevice(created.device), { claimed });
    const existsAlready = repository.records.some((r) => r.file === file);
    const problems = existsAlready
      ? [
          ...checked.problems,
          {
            severity: 'error' as const,
            file,
            line: 1,
            column: 1,
            field: '',
            message: `${file} exists already (a device that does not validate?); a sync never overwrites it`,
          },
        ]
      : checked.problems;
    files.push({
      kind: 'new',
      ref: created.ref,
      file,
      text: checked.text,
      problems,
      valid: checked.valid && !existsAlready,
    });
  }
  for (const updated of plan.updated) {
    const before = readFileSync(join(repository.root, updated.file), 'utf8');
    const text = editDeviceText(before, updated.device, updated.paths);
    const checked = checkProposal(repository, updated.file, text, { claimed });
    files.push({
      kind: 'update',
      ref: updated.ref,
      file: updated.file,
      text,
      problems: checked.problems,
      valid: checked.valid,
    });
  }
  return files;
}

/** Writes the valid proposals under `root` (new files never replace one); returns the paths written. */
export function writeProposedFiles(root: string, files: readonly ProposedFile[]): string[] {
  const written: string[] = [];
  for (const proposal of files) {
    if (!proposal.valid) continue;
    writeFileAtomic(join(root, proposal.file), proposal.text, { overwrite: proposal.kind === 'update' });
    written.push(proposal.file);
  }
  return written;
}
