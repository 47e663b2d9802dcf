#!/usr/bin/env node
// `npm run mutation`: mutation testing (StrykerJS) of the guards that keep devices and keys safe.
//
// Each module is mutated on its own and run against only the test files that cover it, so a run fits a 2-core
// machine. It is a measurement, like the benchmarks: not part of `npm test` and not run by CI.
//
//   npm run mutation                                   every module in MODULES
//   MUTATION_MODULES=src/plan/due.ts,src/acme/csr-policy.ts npm run mutation
//   npm run mutation -- src/plan/due.ts --threshold 90 exit 1 when a module scores below 90 %
//
// Environment: MUTATION_TESTS=a.test.ts,b.test.ts runs the module(s) against only those test files, instead of the
// table's (quick iterations on one module's unit tests; the figures to quote come from the table);
// MUTATION_CHECKER=typescript adds Stryker's TypeScript checker, which sorts type-invalid mutants out
// as CompileError before any test runs; it is off by default because on this 2-core machine it type-checks the
// whole program per mutant group and took over 10 minutes without finishing the 169 mutants of csr-policy.ts,
// while vitest (which strips types) kills or lets survive the same mutants in about a minute; MUTATION_CONCURRENCY (default 1), MUTATION_INCREMENTAL=1 reuses
// the previous results of unchanged mutants (reports/mutation/<module>.incremental.json).
// Reports: reports/mutation/<module>.html and .json, one per module (<module> is the path with / as _).
//
// Stryker 10 refuses to start its CLI on Node < 22 (a version check in stryker-cli.js only); this script runs it
// through its API (`new Stryker(options).runMutationTest()`) in a child process per module, which works on the
// Node 20 this project targets.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPORT_DIR = 'reports/mutation';

/**
 * Module → the test files that cover it. `tests` must exist; `optional` may not exist yet (skipped with a note);
 * entries with a `*` are matched in their directory (`test/unit/csr-policy*.test.ts`).
 */
const MODULES = {
  // Certificates, chains and TLS servers on 127.0.0.1 made by the test itself cover every check (about 5 minutes);
  // the integration pipeline would add half an hour and no path.
  'src/verify/tls.ts': {
    tests: ['test/unit/verify-tls.test.ts'],
  },
  // Every phase, fault and rollback path runs against a fake driver whose device is a real TLS server on
  // 127.0.0.1 (seconds per mutant); the integration pipeline (real drivers, Pebble) adds minutes and no paths.
  'src/rotate/rotate-device.ts': {
    tests: ['test/unit/rotate-device-guards.test.ts'],
  },
  // The phases rotateDevice runs (split out of rotate-device.ts after the scores below were measured).
  'src/rotate/phases.ts': {
    tests: ['test/unit/rotate-device-guards.test.ts'],
  },
  'src/acme/csr-policy.ts': {
    tests: ['test/unit/csr-policy.test.ts'],
  },
  'src/platforms/shared/https-client.ts': {
    tests: ['test/unit/https-trust.test.ts', 'test/unit/https-client.test.ts'],
  },
  // The steps run on /bin/sh with the real openssl in a temporary folder (linux-steps.test.ts); the SSH transport
  // that carries them is linux-ssh.test.ts's concern, not this module's.
  'src/platforms/shared/linux-steps.ts': {
    tests: ['test/unit/shell-quoting.test.ts', 'test/unit/linux-steps.test.ts'],
  },
  // Each request against the PAN-OS simulator with a test CA signing (panos-driver.test.ts): seconds per mutant;
  // panos.test.ts runs the same driver through ACME and Pebble and reaches no other line.
  'src/platforms/panos/driver.ts': {
    tests: ['test/unit/panos-xml.test.ts', 'test/unit/panos-driver.test.ts'],
  },
  // The PAN-OS transport (split out of driver.ts after the scores below were measured).
  'src/platforms/panos/client.ts': {
    tests: ['test/unit/panos-xml.test.ts', 'test/unit/panos-driver.test.ts'],
  },
  // Every function of the module, against the runner's own @actions/core (what it writes to stdout, the exit code).
  'src/actions/inputs.ts': {
    tests: ['test/unit/action-inputs.test.ts', 'test/unit/inputs-mask.test.ts'],
  },
  'src/plan/due.ts': {
    tests: ['test/unit/build-plan.test.ts'],
    optional: ['test/unit/due*.test.ts', 'test/unit/plan-due*.test.ts'],
  },
  'src/gitops/apply-results.ts': {
    tests: ['test/unit/apply-results.test.ts'],
    optional: ['test/unit/apply-results*.test.ts'],
  },
  // The grant checks are pure; trust-boundary.test.ts (the same refusals through validate, plan and rotate on the
  // lab) would cost minutes per mutant and reach no line the unit tests do not.
  'src/model/boundary.ts': {
    tests: ['test/unit/boundary.test.ts'],
    optional: ['test/unit/boundary*.test.ts'],
  },
  'src/gitops/accept-results.ts': {
    tests: ['test/unit/accept-results.test.ts'],
    optional: ['test/unit/accept-results*.test.ts'],
  },
  'src/secrets/source.ts': {
    tests: ['test/unit/secret-source.test.ts', 'test/unit/workflow-secrets.test.ts'],
  },
};

/** Files matching `pattern` (a path, or a path whose last part has `*`), relative to the repository root. */
function expand(pattern) {
  if (!pattern.includes('*')) return existsSync(join(ROOT, pattern)) ? [pattern] : [];
  const dir = dirname(pattern);
  const re = new RegExp(
    `^${basename(pattern)
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  if (!existsSync(join(ROOT, dir))) return [];
  return readdirSync(join(ROOT, dir))
    .filter((name) => re.test(name))
    .sort()
    .map((name) => `${dir}/${name}`);
}

function testFilesFor(module) {
  const only = process.env.MUTATION_TESTS;
  if (only) {
    const files = only.split(',').flatMap((pattern) => expand(pattern.trim()));
    return { files, notes: [`MUTATION_TESTS: only ${files.join(', ')} (not the table's test files)`] };
  }
  const entry = MODULES[module];
  const notes = [];
  const files = new Set();
  for (const path of entry.tests) {
    if (existsSync(join(ROOT, path))) files.add(path);
    else notes.push(`missing test file ${path} (in the table as required)`);
  }
  for (const pattern of entry.optional ?? []) {
    const found = expand(pattern);
    if (found.length === 0 && !pattern.includes('*')) notes.push(`skipped ${pattern} (not there yet)`);
    for (const path of found) files.add(path);
  }
  return { files: [...files], notes };
}

const slug = (module) => module.replace(/\.ts$/, '').replaceAll('/', '_');

function strykerOptions(module, testFiles) {
  const checker = process.env.MUTATION_CHECKER === 'typescript';
  const incremental = process.env.MUTATION_INCREMENTAL === '1';
  return {
    mutate: [module],
    testRunner: 'vitest',
    // The sandbox is a copy of the repository. vitest.mutation.config.ts is vitest.config.ts (fileParallelism:
    // false, the inlined @actions packages) with `include` set to OTTR_MUTATION_TESTS, which worker() sets;
    // Stryker's own `testFiles` would leave module-level mutants unactivated (see that file).
    vitest: { configFile: 'vitest.mutation.config.ts', related: false },
    checkers: checker ? ['typescript'] : [],
    tsconfigFile: checker ? checkerTsconfig(module, testFiles) : 'tsconfig.json',
    coverageAnalysis: 'perTest',
    concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 1),
    reporters: ['html', 'json', 'clear-text', 'progress-append-only'],
    htmlReporter: { fileName: `${REPORT_DIR}/${slug(module)}.html` },
    jsonReporter: { fileName: `${REPORT_DIR}/${slug(module)}.json` },
    clearTextReporter: {
      allowColor: false,
      reportTests: false,
      reportMutants: false,
      reportScoreTable: true,
    },
    incremental,
    incrementalFile: `${REPORT_DIR}/${slug(module)}.incremental.json`,
    // One sandbox folder per module, so runs of different modules can go side by side.
    tempDirName: `.stryker-tmp/${slug(module)}`,
    cleanTempDir: true,
    // Big or generated folders the tests don't read (the 100,000-device bench inventories live in .bench/).
    ignorePatterns: ['/.stryker-tmp', '.bench', '/dist', '/reports', '/coverage'],
    timeoutMS: 10_000,
    thresholds: { high: 90, low: 75, break: null },
    logLevel: 'info',
    fileLogLevel: 'off',
  };
}

/**
 * The checker type-checks a tsconfig's whole program; this one is src/ plus the module's own test files (and what
 * they import), so a test file another engineer is still writing elsewhere in test/ doesn't stop the run.
 * It lives in tmp/mutation/ (git-ignored), which the sandbox copies.
 */
function checkerTsconfig(module, testFiles) {
  const path = `tmp/mutation/tsconfig.${slug(module)}.json`;
  mkdirSync(join(ROOT, 'tmp/mutation'), { recursive: true });
  const config = {
    extends: '../../tsconfig.json',
    include: ['../../src', ...testFiles.map((f) => `../../${f}`)],
  };
  writeFileSync(join(ROOT, path), `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

/** Child process: one Stryker run. */
async function worker(module, testFiles) {
  // The package's entry point also loads stryker-cli.js, whose Node >= 22 check runs on import; stryker.js itself
  // is the same class without it.
  const { Stryker } =
    Number(process.versions.node.split('.')[0]) >= 22
      ? await import('@stryker-mutator/core')
      : await import(
          pathToFileURL(join(ROOT, 'node_modules/@stryker-mutator/core/dist/src/stryker.js')).href
        );
  process.env.OTTR_MUTATION_TESTS = testFiles.join(',');
  await new Stryker(strykerOptions(module, testFiles)).runMutationTest();
}

const DETECTED = new Set(['Killed', 'Timeout']);
const VALID = new Set(['Killed', 'Timeout', 'Survived', 'NoCoverage']);

function summarize(module, seconds) {
  const report = JSON.parse(readFileSync(join(ROOT, REPORT_DIR, `${slug(module)}.json`), 'utf8'));
  const counts = { total: 0, Killed: 0, Survived: 0, Timeout: 0, NoCoverage: 0, CompileError: 0, other: 0 };
  const survivors = [];
  for (const [file, { mutants, source }] of Object.entries(report.files)) {
    const lines = source.split('\n');
    for (const m of mutants) {
      counts.total++;
      if (m.status in counts) counts[m.status]++;
      else counts.other++;
      if (m.status === 'Survived' || m.status === 'NoCoverage') {
        const line = m.location.start.line;
        survivors.push({
          where: `${file}:${line}`,
          line,
          status: m.status,
          mutator: m.mutatorName,
          replacement: (m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 80),
          original: (lines[line - 1] ?? '').trim().slice(0, 80),
        });
      }
    }
  }
  survivors.sort((a, b) => a.line - b.line);
  const detected = Object.entries(counts)
    .filter(([status]) => DETECTED.has(status))
    .reduce((sum, [, n]) => sum + n, 0);
  const valid = Object.entries(counts)
    .filter(([status]) => VALID.has(status))
    .reduce((sum, [, n]) => sum + n, 0);
  const score = valid === 0 ? Number.NaN : (100 * detected) / valid;
  return { module, ...counts, score, seconds, survivors };
}

function table(rows) {
  const head = [
    'module',
    'mutants',
    'killed',
    'survived',
    'timeout',
    'no cov',
    'compile err',
    'score %',
    'seconds',
  ];
  const body = rows.map((r) =>
    r.crashed
      ? [r.module, 'crashed', '', '', '', '', '', '', r.seconds.toFixed(0)]
      : [
          r.module,
          r.total,
          r.Killed,
          r.Survived,
          r.Timeout,
          r.NoCoverage,
          r.CompileError,
          Number.isNaN(r.score) ? 'n/a' : r.score.toFixed(2),
          r.seconds.toFixed(0),
        ].map(String),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => String(row[i]).length)));
  const fmt = (row) =>
    row
      .map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i])))
      .join('  ');
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--worker') return worker(args[1], JSON.parse(args[2]));

  let threshold = null;
  const named = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--threshold') threshold = Number(args[++i]);
    else if (args[i].startsWith('--threshold=')) threshold = Number(args[i].slice('--threshold='.length));
    else named.push(args[i]);
  }
  if (process.env.MUTATION_MODULES)
    named.push(...process.env.MUTATION_MODULES.split(',').map((s) => s.trim()));
  const modules = named.length > 0 ? named.filter(Boolean) : Object.keys(MODULES);
  const unknown = modules.filter((m) => !(m in MODULES));
  if (unknown.length > 0) {
    console.error(
      `Not in the mutation table: ${unknown.join(', ')}\nKnown: ${Object.keys(MODULES).join(', ')}`,
    );
    process.exit(2);
  }

  // The SSH integration tests start sshd, which needs its privilege-separation directory.
  try {
    mkdirSync('/run/sshd', { recursive: true });
  } catch {}
  mkdirSync(join(ROOT, REPORT_DIR), { recursive: true });

  const rows = [];
  let crashed = false;
  for (const module of modules) {
    const { files, notes } = testFilesFor(module);
    console.log(`\n=== ${module} ← ${files.join(', ')}`);
    for (const note of notes) console.log(`    note: ${note}`);
    const started = Date.now();
    rmSync(join(ROOT, REPORT_DIR, `${slug(module)}.json`), { force: true });
    const run =
      files.length === 0
        ? { status: 1 }
        : spawnSync(
            process.execPath,
            [fileURLToPath(import.meta.url), '--worker', module, JSON.stringify(files)],
            {
              cwd: ROOT,
              stdio: 'inherit',
            },
          );
    const seconds = (Date.now() - started) / 1000;
    if (run.status !== 0 || !existsSync(join(ROOT, REPORT_DIR, `${slug(module)}.json`))) {
      crashed = true;
      rows.push({ module, crashed: true, seconds });
      continue;
    }
    rows.push(summarize(module, seconds));
  }

  console.log(
    `\nMutation testing (checker: ${process.env.MUTATION_CHECKER === 'typescript' ? 'typescript' : 'none'})`,
  );
  console.log(table(rows));
  for (const row of rows) {
    if (row.crashed || row.survivors.length === 0) continue;
    console.log(`\nSurviving mutants in ${row.module} (${row.survivors.length}):`);
    for (const s of row.survivors) {
      console.log(
        `  ${s.where}  ${s.status === 'NoCoverage' ? '[no coverage] ' : ''}${s.mutator}: ${s.original}  →  ${s.replacement}`,
      );
    }
  }
  console.log(`\nReports: ${REPORT_DIR}/<module>.html and .json`);

  if (crashed) process.exit(1);
  if (threshold !== null) {
    const below = rows.filter((r) => !(r.score >= threshold));
    if (below.length > 0) {
      console.log(`Below the ${threshold} % threshold: ${below.map((r) => r.module).join(', ')}`);
      process.exit(1);
    }
  }
}

await main();
