// One measurement in a fresh process, so peak RSS belongs to it alone: `plan` or `floor` over a repository.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { parsePlainMapping } from '../../src/model/fast-yaml.ts';
import { buildPlan } from '../../src/plan/build-plan.ts';
import { planInput } from '../../src/plan/input.ts';
import { listDeviceFiles, loadRepository } from '../../src/repository/load.ts';

const [root, mode, nowText] = process.argv.slice(2) as [string, 'plan' | 'floor' | 'floor-full', string];
const now = new Date(nowText);
const started = performance.now();
let detail: Record<string, number> = {};
if (mode === 'floor') {
  // The same fast parser the loader uses for clean files.
  const files = listDeviceFiles(root, []);
  for (const file of files) parsePlainMapping(readFileSync(join(root, file)));
  detail = { files: files.length };
} else if (mode === 'floor-full') {
  // The positional parser alone (used for files with findings).
  const files = listDeviceFiles(root, []);
  for (const file of files) parseDocument(readFileSync(join(root, file), 'utf8')).toJS();
  detail = { files: files.length };
} else {
  const repo = await loadRepository(root);
  const loaded = performance.now();
  const plan = buildPlan(planInput(repo.records, repo.settings!, now));
  detail = {
    load_ms: Math.round(loaded - started),
    plan_ms: Math.round(performance.now() - loaded),
    devices: plan.counts.devices,
    due: plan.counts.due,
    deferred: plan.counts.deferred,
    jobs: plan.counts.jobs,
    problems: repo.problems.length,
  };
}
const ms = performance.now() - started;
process.stdout.write(
  `${JSON.stringify({ ms: Math.round(ms), max_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024), ...detail })}\n`,
);
