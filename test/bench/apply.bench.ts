// npm run bench:apply — applying 1,000 rotation results to a 10,000-device inventory (target ≤ 3 s), and a
// check that untouched bytes stayed untouched. Works on a copy of the generated inventory in .bench/.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { main } from '../../src/cli/main.ts';
import type { RotationResult } from '../../src/model/results.ts';
import { generateRepository } from './generate.ts';

const PROJECT = resolve(import.meta.dirname, '../..');
const WORK = join(PROJECT, '.bench');
const NOW = Date.parse('2026-11-23T06:00:00Z');
mkdirSync(WORK, { recursive: true });
const source = generateRepository(WORK, 10_000, NOW, PROJECT);
const root = join(WORK, 'apply-10000');
rmSync(root, { recursive: true, force: true });
cpSync(source, root, { recursive: true });
const results = join(root, 'results');
mkdirSync(results);
const names: string[] = [];
for (let i = 0; i < 1000; i++) {
  const n = i * 10;
  const name = `dev-${String(n).padStart(6, '0')}`;
  names.push(`inventory/dc${String(n % 20).padStart(2, '0')}/${name}.yaml`);
  const result: RotationResult = {
    schema: 'ottr.result/v1',
    system_name: name,
    status: 'rotated',
    phases: [],
    certificate: {
      not_before: '2026-11-23T06:00:00Z',
      not_after: '2027-02-21T06:00:00Z',
      serial: `04${String(i).padStart(6, '0')}`,
      issuer: "CN=E7,O=Let's Encrypt,C=US",
      sha256_fingerprint: Array(32).fill('AB').join(':'),
      rotated_at: '2026-11-23T06:05:00Z',
    },
  };
  writeFileSync(join(results, `${name}.json`), JSON.stringify(result));
}
const before = new Map(names.map((file) => [file, readFileSync(join(root, file), 'utf8')]));
let output = '';
const started = performance.now();
const code = await main(['apply-results', results, '--root', root], {
  stdout: (t) => {
    output += t;
  },
  stderr: (t) => {
    output += t;
  },
  env: process.env,
  cwd: root,
});
const ms = performance.now() - started;
// Everything before the certificate block must be byte-identical.
let preserved = 0;
for (const [file, text] of before) {
  const after = readFileSync(join(root, file), 'utf8');
  const head = text.slice(0, text.indexOf('certificate:'));
  if (after.startsWith(head) && after !== text) preserved++;
}
console.log(
  `bench:apply: 1,000 results into 10,000 devices: ${Math.round(ms)} ms (exit ${code}), peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`,
);
console.log(
  `  ${preserved} of ${before.size} files changed only in their certificate block; target ≤ 3000 ms: ${ms <= 3000 ? 'met' : 'MISSED'}`,
);
console.log(`  ${output.trim().split('\n').pop()}`);
