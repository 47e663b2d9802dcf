// npm run bench:cycle:workflow — the sample fleet grown to BENCH_DEVICES (default 200) devices, every one due, run
// through .github/workflows/rotate.yml by the lab's workflow runner: the plan action's bundle on ubuntu-latest,
// one rotate leg per matrix entry on its data center's runner (the rotate action's bundle), the report action's
// bundle; Pebble, the Route53 and GitHub emulators, one simulator (or sshd + nginx) per device. No target: this
// shows what the workflow itself costs on top of the in-process pipeline (bench:cycle) and where the time goes.

import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { PROJECT_ROOT } from '../helpers/cli.ts';
import { LAB_NOW, runCycle } from '../lab/cycle.ts';
import { startFullLab } from '../lab/full-lab.ts';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 200);
const RUNNER_CAPACITY = Number(process.env.BENCH_RUNNER_CAPACITY ?? 20);
/** The sample's device files cloned, and each platform's share of the clones. */
const TEMPLATES: { file: string; share: number }[] = [
  { file: 'inventory/sfo1/fw-sfo1-01.yaml', share: 0.18 },
  { file: 'inventory/ams2/fw-ams2-01.yaml', share: 0.17 },
  { file: 'inventory/sfo1/lb-sfo1-01.yaml', share: 0.15 },
  { file: 'inventory/ams2/lb-ams2-01.yaml', share: 0.15 },
  { file: 'inventory/sfo1/console-sfo1-01.yaml', share: 0.15 },
  { file: 'inventory/ams2/console-ams2-01.yaml', share: 0.15 },
  { file: 'inventory/ams2/app-ams2-01.yaml', share: 0.05 },
];
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
};

/** Every device due at LAB_NOW: a 90-day certificate that ends five days later. */
function due(doc: ReturnType<typeof parseDocument>) {
  doc.setIn(['certificate', 'not_before'], '2026-09-26T00:00:00Z');
  doc.setIn(['certificate', 'not_after'], '2026-12-25T00:00:00Z');
}

/** A copy of the sample whose inventory holds its own devices plus clones of the templates, DEVICES in all. */
function grownSample(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ottr-bench-sample-'));
  for (const part of ['schemas', 'routing', 'inventory'])
    cpSync(join(PROJECT_ROOT, part), join(dir, part), { recursive: true });
  let count = 0;
  for (const dc of readdirSync(join(dir, 'inventory')))
    for (const file of readdirSync(join(dir, 'inventory', dc))) {
      const path = join(dir, 'inventory', dc, file);
      const doc = parseDocument(readFileSync(path, 'utf8'));
      due(doc);
      writeFileSync(path, doc.toString({ lineWidth: 0 }));
      count++;
    }
  const clones = Math.max(0, DEVICES - count);
  let n = 0;
  for (const template of TEMPLATES) {
    const copies = template === TEMPLATES.at(-1) ? clones - n : Math.round(clones * template.share);
    const text = readFileSync(join(PROJECT_ROOT, template.file), 'utf8');
    for (let i = 0; i < copies; i++, n++) {
      const doc = parseDocument(text);
      const name = `${doc.get('system_name')}-n${String(n).padStart(3, '0')}`;
      const domain = String(doc.get('common_name')).split('.').slice(1).join('.');
      doc.set('system_name', name);
      doc.set('common_name', `${name}.${domain}`);
      doc.delete('subject_alternative_names');
      if (doc.getIn(['connection', 'instance_id']))
        doc.setIn(['connection', 'instance_id'], `i-0${n.toString(16).padStart(16, '0')}`);
      due(doc);
      const dc = String(doc.get('data_center'));
      mkdirSync(join(dir, 'inventory', dc), { recursive: true });
      writeFileSync(join(dir, 'inventory', dc, `${name}.yaml`), doc.toString({ lineWidth: 0 }));
    }
  }
  return dir;
}

const setupStarted = Date.now();
const sample = grownSample();
const lab = await startFullLab({ sample });
try {
  const setupMs = Date.now() - setupStarted;
  let done = 0;
  const started = Date.now();
  const outcome = await runCycle(lab, {
    now: LAB_NOW,
    maxParallel: RUNNER_CAPACITY,
    progress: (line) => {
      if (!/ result {4}/.test(line)) return;
      if (++done % 25 === 0)
        process.stdout.write(`  ${done} devices done (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    },
  });
  const totalMs = Date.now() - started;
  const rotated = outcome.results.filter((r) => r.status === 'rotated');
  const failed = outcome.results.filter((r) => r.status !== 'rotated');
  const byJob = (job: string) => outcome.listing.filter((j) => j.job === job);
  const legMs = byJob('rotate').map((j) => j.ms ?? 0);
  const phases = new Map<string, number[]>();
  for (const r of outcome.results)
    for (const p of r.phases) phases.set(p.name, [...(phases.get(p.name) ?? []), p.ms]);
  console.log(
    `bench:cycle:workflow — ${lab.devices.length} devices through rotate.yml (lab workflow runner), ${RUNNER_CAPACITY} legs per data-center runner`,
  );
  console.log(`  lab set-up (not counted): ${(setupMs / 1000).toFixed(1)} s`);
  for (const job of outcome.listing.filter((j) => j.job !== 'rotate'))
    console.log(
      `  ${job.name.padEnd(8)} ${job.conclusion.padEnd(9)} ${job.ms !== undefined ? `${(job.ms / 1000).toFixed(1)} s` : ''}`,
    );
  console.log(
    `  rotate   ${legMs.length} legs (${byJob('rotate').filter((j) => j.conclusion === 'success').length} success): median ${(median(legMs) / 1000).toFixed(1)} s, longest ${(Math.max(0, ...legMs) / 1000).toFixed(1)} s`,
  );
  console.log(
    `  total: ${(totalMs / 1000).toFixed(1)} s — ${rotated.length} rotated, ${failed.length} not — ${(rotated.length / (totalMs / 60_000)).toFixed(0)} rotations per minute`,
  );
  console.log(`  per-phase medians: ${[...phases].map(([n, xs]) => `${n} ${median(xs)} ms`).join(', ')}`);
  console.log(
    `  peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (simulators, emulators, runner; each action runs as its own node process)`,
  );
  for (const f of failed.slice(0, 5))
    console.log(`  not rotated: ${f.system_name}: ${f.error?.phase} ${f.error?.class}: ${f.error?.message}`);
  process.exitCode = failed.length === 0 && rotated.length === lab.devices.length ? 0 : 1;
} finally {
  await lab.stop();
  rmSync(sample, { recursive: true, force: true });
}
