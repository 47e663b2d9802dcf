import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { StandInOutcome, StandInStep } from './stand-ins.ts';

/** setup-node's lock files for `cache: npm` (src/cache-utils.ts, supportedPackageManagers.npm.lockFilePatterns). */
const NPM_LOCK_FILES = ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock'];

/**
 * The major a `node-version` asks for, or `any` (lts/*, node, latest, current), or `at-least` a major (>=N); the
 * spellings setup-node documents (README "Supported version syntax"). Undefined: a spec the lab cannot read.
 */
export function requestedMajor(spec: string): { major: number; atLeast: boolean } | 'any' | undefined {
  const text = spec.trim();
  if (/^(lts\/\*|node|latest|current)$/i.test(text)) return 'any';
  const exact = /^v?(\d+)(\.(\d+|x|\*)){0,2}$/.exec(text);
  if (exact) return { major: Number(exact[1]), atLeast: false };
  const atLeast = /^>=\s*v?(\d+)(\.\d+){0,2}$/.exec(text);
  if (atLeast) return { major: Number(atLeast[1]), atLeast: true };
  return undefined;
}

/** `node-version`, else the version in `node-version-file` (.nvmrc, .node-version: its first line). */
function versionSpec(inputs: Record<string, string>, workspace: string): string {
  if (inputs['node-version']) return inputs['node-version'];
  const file = inputs['node-version-file'];
  if (!file) return '';
  const path = resolve(workspace, file);
  if (!existsSync(path)) throw new Error(`The specified node version file at: ${path} does not exist`);
  if (file.endsWith('package.json')) {
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { engines?: { node?: string } };
    return pkg.engines?.node ?? '';
  }
  return readFileSync(path, 'utf8').split('\n')[0]!.trim();
}

/** `cache: npm`: the lock file must be there, as setup-node refuses to run otherwise (src/cache-restore.ts). */
function lockFileProblem(inputs: Record<string, string>, workspace: string): string | undefined {
  if (!inputs.cache) return undefined;
  if (inputs.cache !== 'npm') return `the lab's setup-node caches npm only, not ${inputs.cache}`;
  const dependencyPath = inputs['cache-dependency-path'];
  if (dependencyPath) {
    const paths = dependencyPath
      .split('\n')
      .map((p) => p.trim())
      .filter(Boolean);
    if (!paths.some((p) => existsSync(resolve(workspace, p))))
      return 'Some specified paths were not resolved, unable to cache dependencies.';
    return undefined;
  }
  if (!NPM_LOCK_FILES.some((f) => readdirSync(workspace).includes(f)))
    return `Dependencies lock file is not found in ${workspace}. Supported file patterns: ${NPM_LOCK_FILES.toString()}`;
  return undefined;
}

/**
 * actions/setup-node v4.1.0 in the lab, which downloads nothing: the job runs this machine's node (put in front of
 * PATH, as setup-node puts the version it installs). A `node-version` whose major this node satisfies is met; any
 * other readable spec runs on this node too, with a warning naming the version used; an unreadable spec fails as
 * setup-node fails ("Unable to find Node version …"). `cache: npm` checks the lock file; nothing is cached
 * (`cache-hit` false).
 */
export function setUpNode({ inputs, workspace }: StandInStep): StandInOutcome {
  const machine = process.versions.node;
  const machineMajor = Number(machine.split('.')[0]);
  let spec: string;
  try {
    spec = versionSpec(inputs, workspace);
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
  const warnings: string[] = [];
  if (spec) {
    const wanted = requestedMajor(spec);
    if (!wanted)
      return {
        ok: false,
        message: `Unable to find Node version '${spec}' for platform ${process.platform} and architecture ${process.arch}.`,
      };
    const met =
      wanted === 'any' || (wanted.atLeast ? machineMajor >= wanted.major : machineMajor === wanted.major);
    if (!met)
      warnings.push(
        `node-version ${spec}: the lab downloads no node and runs this machine's v${machine} instead`,
      );
  }
  const lockProblem = lockFileProblem(inputs, workspace);
  if (lockProblem) return { ok: false, message: lockProblem, warnings };
  return {
    ok: true,
    warnings,
    outputs: { 'node-version': `v${machine}`, ...(inputs.cache ? { 'cache-hit': 'false' } : {}) },
    addPath: [dirname(process.execPath)],
  };
}
