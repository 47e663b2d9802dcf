import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runCli } from '../helpers/cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'ottr-cli-bundle-'));
const rebuilt = join(scratch, 'rebuilt');
const metafile = join(scratch, 'meta.json');
const committed = join(PROJECT_ROOT, 'dist/cli');
const HEAVY = /node_modules\/(@aws-sdk|@smithy|ssh2|acme-client|@octokit|@actions)\//;

interface Metafile {
  outputs: Record<
    string,
    { imports: { path: string; kind: string; external?: boolean }[]; inputs: Record<string, unknown> }
  >;
}

const listing = (dir: string) =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => f.split('\\').join('/'))
    .sort();

/** A loader hook that names every file of dist/cli the process loads, on stderr. */
const hooks = join(scratch, 'hooks.mjs');
const register = join(scratch, 'register.mjs');

/** The dist/cli files a run of the committed CLI loads. */
function loadedFiles(args: string[]): string[] {
  const run = spawnSync(
    process.execPath,
    ['--import', pathToFileURL(register).href, 'bin/ottr.js', ...args],
    {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    },
  );
  expect([0, 1], run.stderr).toContain(run.status);
  return [...run.stderr.matchAll(/^loaded .*\/dist\/cli\/(.+)$/gm)].map((m) => m[1]!).sort();
}

beforeAll(() => {
  execFileSync(process.execPath, [
    join(PROJECT_ROOT, 'scripts/build-cli.mjs'),
    '--out',
    rebuilt,
    '--metafile',
    metafile,
  ]);
  writeFileSync(
    hooks,
    `import { writeSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.includes('/dist/cli/')) writeSync(2, 'loaded ' + url + '\\n');
  return next(url, context);
}
`,
  );
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
}, 120_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the committed CLI bundle (dist/cli)', () => {
  it('is exactly what scripts/build-cli.mjs builds from the sources (run npm run build:cli and commit when this fails)', () => {
    expect(listing(committed)).toEqual(listing(rebuilt));
    for (const file of listing(rebuilt).filter((f) => f.endsWith('.mjs'))) {
      const same = readFileSync(join(rebuilt, file)).equals(readFileSync(join(committed, file)));
      expect(same, `dist/cli/${file} is stale`).toBe(true);
    }
  });

  it('holds no absolute path of the machine that built it', () => {
    for (const file of listing(rebuilt).filter((f) => f.endsWith('.mjs'))) {
      const text = readFileSync(join(rebuilt, file), 'utf8');
      expect(text.includes(PROJECT_ROOT), file).toBe(false);
      expect(text.includes(scratch), file).toBe(false);
    }
  });

  it('keeps the heavy libraries out of what the entry and the validation commands load', () => {
    const meta = JSON.parse(readFileSync(metafile, 'utf8')) as Metafile;
    const key = (name: RegExp) => Object.keys(meta.outputs).find((k) => name.test(k.split('/').pop()!))!;
    const heavyInStaticClosure = (start: string) => {
      const seen = new Set([start]);
      const stack = [start];
      const heavy = new Set<string>();
      while (stack.length > 0) {
        const output = meta.outputs[stack.pop()!]!;
        for (const input of Object.keys(output.inputs)) {
          const hit = HEAVY.exec(input);
          if (hit) heavy.add(hit[1]!);
        }
        for (const i of output.imports)
          if (i.kind === 'import-statement' && !i.external && !seen.has(i.path)) {
            seen.add(i.path);
            stack.push(i.path);
          }
      }
      return [...heavy];
    };
    expect(heavyInStaticClosure(key(/^main\.mjs$/))).toEqual([]);
    for (const command of ['validate', 'plan', 'show', 'status', 'dns-records', 'check-workflows'])
      expect(heavyInStaticClosure(key(new RegExp(`^${command}-[A-Z0-9]+\\.mjs$`))), command).toEqual([]);
    // The commands that talk to AWS or an ACME server do load them, when they run.
    expect(heavyInStaticClosure(key(/^sync-[A-Z0-9]+\.mjs$/))).toContain('@aws-sdk');
  });

  it('answers --help, --version, help and <command> --help without loading any command', () => {
    const meta = JSON.parse(readFileSync(metafile, 'utf8')) as Metafile;
    const commandChunks = Object.keys(meta.outputs)
      .map((k) => k.split('/').pop()!)
      .filter((f) => /^(validate|plan|rotate|sync|acme|onboard|status)-[A-Z0-9]+\.mjs$/.test(f));
    expect(commandChunks.length).toBe(7);
    for (const args of [
      ['--help'],
      ['--version'],
      ['help', 'rotate'],
      ['sync', '--help'],
      ['acme', '--help'],
    ]) {
      const loaded = loadedFiles(args);
      expect(loaded, args.join(' ')).toContain('main.mjs');
      for (const chunk of commandChunks) expect(loaded, args.join(' ')).not.toContain(`chunks/${chunk}`);
    }
    // …and a command run loads its chunk (the hook sees it).
    expect(loadedFiles(['validate']).some((f) => /^chunks\/validate-/.test(f))).toBe(true);
  }, 60_000);

  it('prints the same help as the sources, from the docs the build embedded', async () => {
    for (const args of [
      ['rotate', '--help'],
      ['help', 'sync'],
      ['validate', '--help'],
    ]) {
      const spawned = spawnSync(process.execPath, ['bin/ottr.js', ...args], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
      });
      const inProcess = await runCli(args);
      expect(spawned.stdout, args.join(' ')).toBe(inProcess.stdout);
      expect(spawned.status).toBe(0);
    }
  });

  it('is deterministic: a second build is byte for byte the first', () => {
    const again = join(scratch, 'again');
    execFileSync(process.execPath, [join(PROJECT_ROOT, 'scripts/build-cli.mjs'), '--out', again]);
    expect(listing(again)).toEqual(listing(rebuilt));
    for (const file of listing(rebuilt).filter((f) => f.endsWith('.mjs')))
      expect(readFileSync(join(again, file)).equals(readFileSync(join(rebuilt, file))), file).toBe(true);
  }, 120_000);
});
