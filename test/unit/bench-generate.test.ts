import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/repository/load.ts';
import { generateRepository } from '../bench/generate.ts';
import { PROJECT_ROOT } from '../helpers/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'ottr-bench-generate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the benchmarks' generated fleet", () => {
  it('validates without an error, every platform and authority included, so a benchmark measures valid files', async () => {
    const dir = generateRepository(root, 40, Date.parse('2026-12-01T00:00:00Z'), PROJECT_ROOT);
    const repository = await loadRepository(dir);
    expect(repository.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const devices = repository.records.map((r) => r.device).filter((d) => d !== undefined);
    expect(devices.length).toBe(40);
    expect([...new Set(devices.map((d) => d.host_platform))].sort()).toEqual([
      'f5',
      'lighthouse',
      'linux',
      'panos',
    ]);
    expect([...new Set(devices.map((d) => d.certificate_authority))].sort()).toEqual([
      'corp_ca',
      'lets_encrypt',
    ]);
  });
});
