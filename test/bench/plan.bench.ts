// npm run bench:plan — plan wall time and peak RSS for 10,000 and 100,000 generated devices, next to the
// floor (reading and parsing the same files, nothing else). Targets: 10k ≤ 2 s, 100k ≤ 20 s, RSS ≤ 1 GB.
// BENCH_SIZES=1000,10000 picks other sizes. Generated inventories are kept in .bench/ and reused.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { generateRepository } from './generate.ts';

const PROJECT = resolve(import.meta.dirname, '../..');
const WORK = join(PROJECT, '.bench');
const NOW = '2026-11-23T06:00:00Z';
const TARGETS: Record<number, number> = { 10000: 2000, 100000: 20_000 };
const sizes = (process.env.BENCH_SIZES ?? '10000,100000').split(',').map(Number);

interface Measurement {
  ms: number;
  max_rss_mb: number;
  [key: string]: number;
}

function measure(root: string, mode: 'plan' | 'floor' | 'floor-full'): Measurement {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', join(PROJECT, 'test/bench/plan-run.ts'), root, mode, NOW],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as Measurement;
}

mkdirSync(WORK, { recursive: true });
console.log(`bench:plan on ${availableParallelism()} cores, node ${process.version}, now=${NOW}`);
let failed = false;
for (const size of sizes) {
  const t = performance.now();
  const root = generateRepository(WORK, size, Date.parse(NOW), PROJECT);
  console.log(
    `\n${size.toLocaleString('en')} devices (inventory ready in ${Math.round(performance.now() - t)} ms, ${root})`,
  );
  const floor = measure(root, 'floor');
  const floorFull = measure(root, 'floor-full');
  const runs = [measure(root, 'plan'), measure(root, 'plan'), measure(root, 'plan')];
  const plan = runs.sort((a, b) => a.ms - b.ms)[1]!; // median of three
  const target = TARGETS[size];
  const ok = target === undefined || (plan.ms <= target && plan.max_rss_mb <= 1024);
  if (!ok) failed = true;
  console.log(`  floor (read + fast YAML parse):      ${floor.ms} ms, peak RSS ${floor.max_rss_mb} MB`);
  console.log(
    `  (read + positional YAML parse:       ${floorFull.ms} ms, the parser used for files with findings)`,
  );
  console.log(
    `  ottr plan (median of 3):             ${plan.ms} ms (load ${plan.load_ms} ms + plan ${plan.plan_ms} ms), peak RSS ${plan.max_rss_mb} MB`,
  );
  console.log(
    `  runs: ${runs.map((r) => r.ms).join(' / ')} ms; due ${plan.due}, deferred ${plan.deferred}, jobs ${plan.jobs}, problems ${plan.problems}`,
  );
  if (target !== undefined) console.log(`  target ≤ ${target} ms and ≤ 1024 MB: ${ok ? 'met' : 'MISSED'}`);
}
process.exitCode = failed ? 1 : 0;
