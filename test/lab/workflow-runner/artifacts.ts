import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

/** A stand-in result: success or a failure message, the step's outputs. */
export interface StandInResult {
  ok: boolean;
  message?: string;
  warnings?: string[];
  outputs?: Record<string, string>;
  /** Variables the step exports to the job's later steps (as GITHUB_ENV does). */
  exportEnv?: Record<string, string>;
}

/**
 * One workflow run's artifacts, as upload-artifact / download-artifact v4 keep them (github.com/actions/
 * upload-artifact and github.com/actions/download-artifact READMEs, v4): immutable per name within the run.
 */
export class ArtifactStore {
  private readonly artifacts = new Map<string, string>();

  constructor(private readonly dir: string) {}

  names(): string[] {
    return [...this.artifacts.keys()].sort();
  }

  has(name: string): boolean {
    return this.artifacts.has(name);
  }

  /** Where an artifact's files are kept (created empty; the caller fills it). */
  create(name: string): string {
    const path = join(this.dir, `${this.artifacts.size + 1}-${name.replace(/[^\w.-]/g, '_')}`);
    mkdirSync(path, { recursive: true });
    this.artifacts.set(name, path);
    return path;
  }

  delete(name: string): void {
    this.artifacts.delete(name);
  }

  files(name: string): string | undefined {
    return this.artifacts.get(name);
  }
}

function listFiles(path: string, includeHidden: boolean): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => includeHidden || !f.startsWith('.'))
    .flatMap((f) => listFiles(join(path, f), includeHidden));
}

function commonAncestor(paths: string[]): string {
  const parts = paths.map((p) => p.split(sep));
  const first = parts[0]!;
  let n = 0;
  while (n < first.length && parts.every((p) => p[n] === first[n])) n++;
  return first.slice(0, n).join(sep) || sep;
}

const GLOB = /[*?[\]{}]/;

/**
 * upload-artifact v4: `path` lines (relative to the workspace); the artifact's root is the least common ancestor
 * of the paths (a directory's own contents, a single file by its name); hidden files are left out unless
 * `include-hidden-files`; a second upload of the same name in the run is a 409 Conflict unless `overwrite`.
 */
export function uploadArtifact(
  store: ArtifactStore,
  workspace: string,
  inputs: Record<string, string>,
): StandInResult {
  const name = inputs.name || 'artifact';
  const lines = inputs
    .path!.split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 0) return { ok: false, message: 'Input required and not supplied: path' };
  if (lines.some((l) => GLOB.test(l) || l.startsWith('!')))
    return {
      ok: false,
      message: `upload-artifact: the lab stand-in takes plain paths only, not ${lines.join(', ')}`,
    };
  const roots = lines.map((l) => resolve(workspace, l));
  const files = roots.flatMap((r) => listFiles(r, inputs['include-hidden-files'] === 'true'));
  if (files.length === 0) return noFiles(inputs, lines);
  if (store.has(name)) {
    if (inputs.overwrite !== 'true')
      return {
        ok: false,
        message:
          'Failed to CreateArtifact: Received non-retryable error: Failed request: (409) Conflict: an artifact with this name already exists on the workflow run',
      };
    store.delete(name);
  }
  const root = commonAncestor(
    roots.filter(existsSync).map((r) => (statSync(r).isDirectory() ? r : dirname(r))),
  );
  const target = store.create(name);
  for (const file of files) {
    const into = join(target, relative(root, file));
    mkdirSync(dirname(into), { recursive: true });
    cpSync(file, into);
  }
  return { ok: true, outputs: { 'artifact-id': basename(target) } };
}

function noFiles(inputs: Record<string, string>, lines: string[]): StandInResult {
  const message = `No files were found with the provided path: ${lines.join('\n')}. No artifacts will be uploaded.`;
  const behaviour = inputs['if-no-files-found'] || 'warn';
  if (behaviour === 'error') return { ok: false, message };
  return { ok: true, warnings: behaviour === 'warn' ? [message] : [] };
}

/** A download-artifact `pattern` (minimatch-style `*` and `?`) as a regular expression. */
export function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * download-artifact v4: `name` downloads that artifact's files straight into `path` (default the workspace); a
 * `pattern` (or neither) downloads every matching artifact into `path/<artifact name>/`, unless
 * `merge-multiple: true` puts them all in `path` itself. A missing name fails the step.
 */
export function downloadArtifact(
  store: ArtifactStore,
  workspace: string,
  inputs: Record<string, string>,
): StandInResult {
  const into = resolve(workspace, inputs.path || '.');
  if (inputs.name) {
    const files = store.files(inputs.name);
    if (!files)
      return {
        ok: false,
        message: `Unable to download artifact(s): Artifact not found for name: ${inputs.name}`,
      };
    cpSync(files, into, { recursive: true });
    return { ok: true, outputs: { 'download-path': into } };
  }
  const matcher = patternRegExp(inputs.pattern || '*');
  const names = store.names().filter((n) => matcher.test(n));
  for (const name of names) {
    const target = inputs['merge-multiple'] === 'true' ? into : join(into, name);
    cpSync(store.files(name)!, target, { recursive: true });
  }
  const warnings = names.length === 0 ? [`No artifacts found matching pattern ${inputs.pattern || '*'}`] : [];
  return { ok: true, warnings, outputs: { 'download-path': into } };
}
