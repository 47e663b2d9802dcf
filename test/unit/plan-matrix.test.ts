import { describe, expect, it } from 'vitest';
import type { Settings } from '../../src/model/types.ts';
import {
  allocateShards,
  buildMatrix,
  MATRIX_OUTPUT_LIMIT_BYTES,
  type MatrixDevice,
  matrixBytes,
  maxJobs,
  runsOn,
} from '../../src/plan/matrix.ts';

const DATA_CENTERS = ['dc1', 'dc2', 'big', 'small', 'dc-a', 'dc-b', 'dc-c', 'dc0', 'dc3', 'dc4'];

function settings(limits: Settings['limits'] = {}, byDc: Record<string, string[]> = {}): Settings {
  return {
    authorities: {},
    dns: { provider: 'route53', delegate_zone: 'acme.example.net', hosted_zone_id: 'Z1' },
    runners: {
      by_data_center: {
        ...Object.fromEntries(DATA_CENTERS.map((dc) => [dc, ['self-hosted', 'ottr', dc]])),
        ...byDc,
      },
    },
    secrets: {},
    limits,
  };
}

/** Devices in urgency order: index = rank. */
function due(
  count: number,
  dc: (i: number) => string = () => 'dc1',
  prefix = 'device',
  secrets: (i: number) => string[] = () => ['ACME_KEY'],
): MatrixDevice[] {
  return Array.from({ length: count }, (_, i) => ({
    system_name: `${prefix}-${String(i).padStart(6, '0')}`,
    data_center: dc(i),
    secrets: secrets(i),
  }));
}

describe('runners and limits', () => {
  it('runs_on by data center; an undeclared data center has none (no default fallback)', () => {
    const s = settings({}, { ams: ['self-hosted', 'ams'] });
    expect(runsOn(s, 'ams')).toEqual(['self-hosted', 'ams']);
    expect(runsOn(s, 'sfo')).toBeUndefined();
    expect(runsOn(s, 'constructor')).toBeUndefined();
  });

  it('a device of an undeclared data center is not scheduled, with the reason', () => {
    const m = buildMatrix(
      due(2, (i) => (i === 0 ? 'dc1' : 'lab9')),
      settings(),
    );
    expect(m.include.map((e) => e.id)).toEqual(['device-000000']);
    expect(m.errors).toEqual([
      'device-000001 is not scheduled: data center lab9 has no runners.by_data_center entry',
    ]);
  });

  it('max_jobs defaults to 256 and never exceeds it', () => {
    expect(maxJobs(settings())).toBe(256);
    expect(maxJobs(settings({ max_jobs: 10 }))).toBe(10);
    expect(maxJobs(settings({ max_jobs: 1000 }))).toBe(256);
  });
});

describe('buildMatrix', () => {
  it('one job per device up to max_jobs', () => {
    const s = settings({ max_jobs: 3 }, { dc2: ['self-hosted', 'dc2'] });
    const m = buildMatrix(
      due(3, (i) => (i === 1 ? 'dc2' : 'dc1')),
      s,
    );
    expect(m.errors).toEqual([]);
    expect(m.shards).toBeUndefined();
    const common = { environment: 'pki-dc1', secrets: ['ACME_KEY'] };
    expect(m.include).toEqual([
      {
        id: 'device-000000',
        devices: ['device-000000'],
        data_center: 'dc1',
        runs_on: ['self-hosted', 'ottr', 'dc1'],
        ...common,
      },
      {
        id: 'device-000001',
        devices: ['device-000001'],
        data_center: 'dc2',
        runs_on: ['self-hosted', 'dc2'],
        environment: 'pki-dc2',
        secrets: ['ACME_KEY'],
      },
      {
        id: 'device-000002',
        devices: ['device-000002'],
        data_center: 'dc1',
        runs_on: ['self-hosted', 'ottr', 'dc1'],
        ...common,
      },
    ]);
  });

  it('shards round-robin: balanced, each with a mix of urgencies', () => {
    const m = buildMatrix(due(10), settings({ max_jobs: 3 }));
    expect(m.include.map((e) => e.id)).toEqual(['shard-001', 'shard-002', 'shard-003']);
    expect(m.include.map((e) => e.devices)).toEqual([
      ['device-000000', 'device-000003', 'device-000006', 'device-000009'],
      ['device-000001', 'device-000004', 'device-000007'],
      ['device-000002', 'device-000005', 'device-000008'],
    ]);
    expect(m.shards?.map((s) => s.devices)).toEqual(m.include.map((e) => e.devices));
    expect(m.include[0]).toMatchObject({
      data_center: 'dc1',
      runs_on: ['self-hosted', 'ottr', 'dc1'],
      environment: 'pki-dc1',
      secrets: ['ACME_KEY'],
    });
  });

  it('a shard never spans two data centers or two secret sets, even when runner labels are shared', () => {
    // dc-a and dc-b share labels, but each data center's jobs run in its own environment with its own secrets.
    const s = settings({ max_jobs: 6 }, { 'dc-a': ['x', 'self-hosted'], 'dc-b': ['self-hosted', 'x'] });
    const devices = due(
      100,
      (i) => (i % 10 === 9 ? 'dc-c' : i % 2 === 0 ? 'dc-a' : 'dc-b'),
      'device',
      (i) => (i % 4 === 0 ? ['ACME_KEY', 'FW_KEY'] : ['ACME_KEY', 'LB_KEY']),
    );
    const m = buildMatrix(devices, s);
    expect(m.errors).toEqual([]);
    expect(m.include).toHaveLength(6);
    const byName = new Map(devices.map((d) => [d.system_name, d]));
    for (const entry of m.include) {
      expect(entry.environment).toBe(`pki-${entry.data_center}`);
      for (const name of entry.devices!) {
        expect(byName.get(name)!.data_center).toBe(entry.data_center);
        expect(byName.get(name)!.secrets).toEqual(entry.secrets);
      }
    }
    // Every device exactly once.
    const all = m.include.flatMap((e) => e.devices!);
    expect(new Set(all).size).toBe(100);
  });

  it('a device that would need more secrets than a job has slots is not scheduled', () => {
    const many = Array.from({ length: 9 }, (_, i) => `SECRET_${i}`);
    const m = buildMatrix(
      due(
        2,
        () => 'dc1',
        'device',
        (i) => (i === 1 ? many : ['ACME_KEY']),
      ),
      settings(),
    );
    expect(m.include.map((e) => e.id)).toEqual(['device-000000']);
    expect(m.errors[0]).toMatch(/device-000001 is not scheduled: it needs 9 secrets, more than the 8/);
  });

  it('every group gets a shard, even a tiny one', () => {
    const byDc: Record<string, string[]> = { small: ['self-hosted', 'small'] };
    const devices = due(1000, (i) => (i === 500 ? 'small' : 'big'));
    const m = buildMatrix(devices, settings({ max_jobs: 10 }, byDc));
    expect(m.include).toHaveLength(10);
    const small = m.include.filter((e) => e.data_center === 'small');
    expect(small).toHaveLength(1);
    expect(small[0]!.devices).toEqual(['device-000500']);
  });

  it('more runner groups than max_jobs is an error, not an exception', () => {
    const byDc = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`dc${i}`, [`label-${i}`]]));
    const m = buildMatrix(
      due(10, (i) => `dc${i % 5}`),
      settings({ max_jobs: 3 }, byDc),
    );
    expect(m.include).toEqual([]);
    expect(m.errors[0]).toMatch(/5 different data center and secret sets .* max_jobs is 3/);
  });

  it('100,000 due devices with long names: falls back to devices_file + shard index', () => {
    const devices = due(
      100_000,
      (i) => `dc${i % 3}`,
      'a-rather-long-device-name-for-the-matrix-output-limit',
    );
    const m = buildMatrix(devices, settings());
    expect(m.include).toHaveLength(256);
    expect(m.shards).toHaveLength(256);
    expect(matrixBytes(m.include)).toBeLessThan(MATRIX_OUTPUT_LIMIT_BYTES);
    m.include.forEach((e, index) => {
      expect(e.devices).toBeUndefined();
      expect(e.devices_file).toBe('plan.json');
      expect(e.shard).toBe(index);
      expect(m.shards![index]!.id).toBe(e.id);
    });
    const sizes = m.shards!.map((s) => s.devices.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(100_000);
    // Balanced within each data center (each is its own group of shards).
    for (const dc of ['dc0', 'dc1', 'dc2']) {
      const own = m.shards!.filter((s) => s.data_center === dc).map((s) => s.devices.length);
      expect(Math.max(...own) - Math.min(...own)).toBeLessThanOrEqual(1);
    }
    expect(m.include.at(-1)!.id).toBe('shard-256');
  });

  it('a sharded matrix that fits stays inline', () => {
    const m = buildMatrix(due(5_000), settings());
    expect(m.include).toHaveLength(256);
    expect(m.include[0]!.devices).toBeDefined();
    expect(m.include[0]!.devices_file).toBeUndefined();
    expect(matrixBytes(m.include)).toBeLessThan(MATRIX_OUTPUT_LIMIT_BYTES);
  });
});

describe('allocateShards', () => {
  it('at least one per group, the rest by largest remainder, within the total', () => {
    expect(allocateShards([90, 9, 1], 10)).toEqual([8, 1, 1]);
    expect(allocateShards([50, 50], 5)).toEqual([3, 2]);
    expect(allocateShards([1, 1, 1, 100], 4)).toEqual([1, 1, 1, 1]);
    for (const [sizes, total] of [
      [[3, 7, 11, 1000], 17],
      [[2, 2, 2, 2, 2], 9],
      [[1000, 1, 1], 256],
    ] as const) {
      const a = allocateShards(sizes, total);
      expect(a.reduce((x, y) => x + y, 0)).toBe(total);
      a.forEach((n, i) => {
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(sizes[i]!);
      });
    }
  });
});
