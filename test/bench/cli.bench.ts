// npm run bench:cli — the compiled CLI as users run it (node bin/ottr.js …, a new process each time), next to
// `node -e ''` measured in the same run: each case alternates with a bare node start, so a busy machine slows
// both. Prints medians, the ratio to node, peak RSS, where the time goes, and which targets are met.
// Peak RSS and CPU time: one extra run of each case with a preload (--import) that writes the process's own
// process.resourceUsage() (maxRSS, user + system CPU) to stderr when it exits; the timed runs carry no preload.
// CPU time is the figure to compare when the machine is busy: a loaded machine stretches wall time, not it. The same extra run sets OTTR_TIMINGS=1,
// for which the CLI prints its phases (start-up, module load, read, parse+checks, rest) to stderr.
// BENCH_SIZES=10000,100000 (default) picks the generated fleet sizes, BENCH_RUNS=5 the runs per case.
// Generated inventories are kept in .bench/ and reused. Run `npm run build:cli` first after changing src/.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parsePlainMapping } from '../../src/model/fast-yaml.ts';
import { deviceYaml, generateRepository } from './generate.ts';

const PROJECT = resolve(import.meta.dirname, '../..');
const WORK = join(PROJECT, '.bench');
const BIN = join(PROJECT, 'bin/ottr.js');
const NOW = '2026-11-23T06:00:00Z';
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const sizes = (process.env.BENCH_SIZES ?? '10000,100000').split(',').map(Number);
const RSS_PROBE = `data:text/javascript,${encodeURIComponent(
  [
    "import { writeSync } from 'node:fs';",
    "process.on('exit', () => {",
    '  const u = process.resourceUsage();',
    "  writeSync(2, '\\nbench-max-rss-kb=' + u.maxRSS + ' bench-cpu-us=' + (u.userCPUTime + u.systemCPUTime) + '\\n');",
    '});',
  ].join('\n'),
)}`;

type Variant = 'header' | 'no-header' | 'findings';
const VARIANT_LABEL: Record<Variant, string> = {
  header: 'with $schema line',
  'no-header': 'without $schema line',
  findings: 'with $schema, 1 % findings',
};

/**
 * The generated fleet (generate.ts), all of it valid: a lighthouse device gets the corp_ca authority, whose
 * RSA keys it can make (generate.ts gives every other device lets_encrypt, which requires ECDSA). Then as
 * written without the header line, or with 1 % of files carrying an error.
 */
function fleet(size: number, variant: Variant): string {
  const base = generateRepository(WORK, size, Date.parse(NOW), PROJECT);
  const dir = join(WORK, `cli-${variant}-${size}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(base, 'routing'), join(dir, 'routing'), { recursive: true });
  cpSync(join(base, 'schemas'), join(dir, 'schemas'), { recursive: true });
  for (let i = 0; i < size; i++) {
    const dataCenter = `dc${String(i % 20).padStart(2, '0')}`;
    const folder = join(dir, 'inventory', dataCenter);
    if (i < 20) mkdirSync(folder, { recursive: true });
    let text = deviceYaml(i, dataCenter, Date.parse(NOW));
    if (/^host_platform: lighthouse$/m.test(text))
      text = text.replace(/^certificate_authority: .*$/m, 'certificate_authority: corp_ca');
    if (variant === 'no-header') text = text.slice(text.indexOf('\n') + 1);
    // A real finding: an address that is not one, reported at its line (the positional parser's job).
    else if (variant === 'findings' && i % 100 === 7)
      text = text.replace(/^ip_address: .*$/m, 'ip_address: 10.0.0.300');
    writeFileSync(join(folder, `dev-${String(i).padStart(6, '0')}.yaml`), text);
  }
  writeFileSync(join(dir, '.complete'), '');
  return dir;
}

interface Run {
  ms: number;
  code: number | null;
  stderr: string;
}

function spawnOnce(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const start = performance.now();
  const child = spawnSync(process.execPath, args, {
    cwd: PROJECT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return { ms: performance.now() - start, code: child.status, stderr: child.stderr };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

interface CaseResult {
  label: string;
  ms: number;
  nodeMs: number;
  rssMb: number;
  cpuMs: number;
  phases: Record<string, number>;
  target?: { text: string; met: boolean };
  parseMs?: number;
}

function measureCase(
  label: string,
  cliArgs: string[],
  target?: (ms: number, ratio: number) => { text: string; met: boolean },
): CaseResult {
  const nodeRuns: number[] = [];
  const cliRuns: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    nodeRuns.push(spawnOnce(['-e', '']).ms);
    const run = spawnOnce([BIN, ...cliArgs]);
    if (run.code !== 0 && run.code !== 1)
      throw new Error(`ottr ${cliArgs.join(' ')}: exit ${run.code}\n${run.stderr}`);
    cliRuns.push(run.ms);
  }
  const probed = spawnOnce(['--import', RSS_PROBE, BIN, ...cliArgs]);
  const rssKb = Number(/bench-max-rss-kb=(\d+)/.exec(probed.stderr)?.[1] ?? Number.NaN);
  const cpuUs = Number(/bench-cpu-us=(\d+)/.exec(probed.stderr)?.[1] ?? Number.NaN);
  const timed = spawnOnce([BIN, ...cliArgs], { OTTR_TIMINGS: '1' });
  const phases: Record<string, number> = {};
  const line = /^ottr timings: (.*)$/m.exec(timed.stderr)?.[1] ?? '';
  for (const [, key, value] of line.matchAll(/(\w+)=([\d.]+)/g)) phases[key!] = Number(value);
  const ms = median(cliRuns);
  const nodeMs = median(nodeRuns);
  return {
    label,
    ms,
    nodeMs,
    rssMb: rssKb / 1024,
    cpuMs: cpuUs / 1000,
    phases,
    ...(target ? { target: target(ms, ms / nodeMs) } : {}),
  };
}

/** Parsing alone, in this process with the CLI's fast parser, to split "parse + checks" into its two parts. */
function parseOnlyMs(root: string): number {
  const files: Uint8Array[] = [];
  for (const dc of readdirSync(join(root, 'inventory')))
    for (const f of readdirSync(join(root, 'inventory', dc)))
      files.push(readFileSync(join(root, 'inventory', dc, f)));
  const start = performance.now();
  for (const bytes of files) parsePlainMapping(bytes);
  return performance.now() - start;
}

const atMost = (limit: number) => (ms: number) => ({ text: `≤ ${limit} ms`, met: ms <= limit });
const timesNode = (limit: number) => (_ms: number, ratio: number) => ({
  text: `≤ ${limit}× node`,
  met: ratio <= limit,
});

const nodeProbe = spawnOnce(['--import', RSS_PROBE, '-e', '']).stderr;
const nodeRss = Number(/bench-max-rss-kb=(\d+)/.exec(nodeProbe)?.[1]) / 1024;
const nodeCpu = Number(/bench-cpu-us=(\d+)/.exec(nodeProbe)?.[1]) / 1000;

console.log(
  `bench:cli on ${availableParallelism()} cores, node ${process.version}, ${RUNS} runs per case, now=${NOW}`,
);
const results: CaseResult[] = [
  measureCase('ottr --help', ['--help'], timesNode(2)),
  measureCase('ottr --version', ['--version'], timesNode(2)),
  measureCase('ottr help plan', ['help', 'plan']),
  measureCase('ottr validate (sample, 10 devices)', ['validate'], atMost(300)),
];
const PLAN_TARGETS: Record<number, number> = { 10000: 1500, 100000: 10_000 };
for (const size of sizes) {
  for (const variant of ['header', 'no-header', 'findings'] as const) {
    const root = fleet(size, variant);
    const limit = PLAN_TARGETS[size];
    const result = measureCase(
      `ottr plan ${size.toLocaleString('en')} devices, ${VARIANT_LABEL[variant]}`,
      ['plan', '--root', root, '--now', NOW],
      limit ? atMost(limit) : undefined,
    );
    result.parseMs = parseOnlyMs(root);
    results.push(result);
  }
}

const width = Math.max(...results.map((r) => r.label.length));
const pad = (text: string, n: number) => text.padStart(n);
console.log(
  `\n${'case'.padEnd(width)}  ${pad('median', 9)}  ${pad('node', 7)}  ${pad('× node', 6)}  ${pad('CPU', 8)}  ${pad('peak RSS', 9)}  target`,
);
console.log(
  `${"node -e ''".padEnd(width)}  ${pad('', 9)}  ${pad('', 7)}  ${pad('1.00', 6)}  ${pad(`${nodeCpu.toFixed(0)} ms`, 8)}  ${pad(`${nodeRss.toFixed(0)} MB`, 9)}`,
);
for (const r of results) {
  const target = r.target ? `${r.target.text}: ${r.target.met ? 'met' : 'MISSED'}` : '';
  console.log(
    `${r.label.padEnd(width)}  ${pad(`${r.ms.toFixed(0)} ms`, 9)}  ${pad(`${r.nodeMs.toFixed(0)} ms`, 7)}  ${pad((r.ms / r.nodeMs).toFixed(2), 6)}  ${pad(`${r.cpuMs.toFixed(0)} ms`, 8)}  ${pad(`${r.rssMb.toFixed(0)} MB`, 9)}  ${target}`,
  );
}

console.log(
  '\nWhere the time goes (ms, one run with OTTR_TIMINGS=1; parse = the same files parsed in-process, checks = the rest of parse+checks):',
);
const cols = ['startup', 'load', 'read', 'parse', 'checks', 'rest', 'total'] as const;
console.log(`${'case'.padEnd(width)}  ${cols.map((c) => pad(c, 8)).join('')}  positional parses`);
for (const r of results) {
  if (r.phases.load === undefined) {
    const startup = r.phases.startup ?? Number.NaN;
    const total = r.phases.total ?? Number.NaN;
    console.log(
      `${r.label.padEnd(width)}  ${pad(startup.toFixed(0), 8)}${pad('-', 8).repeat(5)}${pad(total.toFixed(0), 8)}  (no command loaded)`,
    );
    continue;
  }
  const parse = r.parseMs ?? 0;
  const values: Record<(typeof cols)[number], number> = {
    startup: r.phases.startup!,
    load: r.phases.load!,
    read: r.phases.read!,
    parse,
    checks: Math.max(0, r.phases.validate! - parse),
    rest: r.phases.rest!,
    total: r.phases.total!,
  };
  console.log(
    `${r.label.padEnd(width)}  ${cols.map((c) => pad(values[c].toFixed(0), 8)).join('')}  ${r.phases.positional ?? 0} of ${r.phases.files ?? 0} files`,
  );
}
console.log(
  'startup = process start until the command starts (node + the CLI entry); load = loading the command;',
);
console.log('read/parse/checks = the device files; rest = settings and routes, planning and output.');

const missed = results.filter((r) => r.target && !r.target.met);
console.log(
  `\nTargets: ${results.filter((r) => r.target?.met).length} of ${results.filter((r) => r.target).length} met${missed.length ? `; missed: ${missed.map((r) => r.label).join('; ')}` : ''}`,
);
if (missed.length) process.exitCode = 1;
