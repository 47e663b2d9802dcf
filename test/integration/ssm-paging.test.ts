import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device } from '../../src/model/types.ts';
import { connectSsm } from '../../src/platforms/linux-ssm/client.ts';
import { LAB_CREDENTIALS } from '../lab/dns/lab.ts';
import { SsmEmulator } from '../lab/ssm/emulator.ts';

// Issue 14, finding 13: DescribeInstanceInformation cuts a page (10 by default, 50 at most) from every managed
// instance and filters it afterwards, so the tagged instance can sit behind pages that hold no match at all.
let ssm: SsmEmulator;
let dir: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: LAB_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LAB_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'eu-west-1',
  });
  dir = mkdtempSync(join(tmpdir(), 'ssm-paging-'));
  ssm = new SsmEmulator();
  await ssm.start();
  for (let n = 0; n < 120; n++) {
    const id = `i-0b${String(n).padStart(15, '0')}`;
    const tags: Record<string, string> = { Name: `fleet-${n}` };
    if (n === 3) tags.role = 'web-old'; // on the first page, but its agent is ConnectionLost
    if (n === 105) tags.role = 'web'; // on the third page of 50
    if (n === 7 || n === 110) tags.role = 'db'; // one on the first page, one on the third
    ssm.instances.push({ id, tags, online: n !== 3, dir });
  }
  ssm.instances[3]!.tags.role = 'web';
}, 30_000);

afterAll(async () => {
  await ssm?.stop();
  rmSync(dir, { recursive: true, force: true });
  for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
});

function context(tag: { key: string; value: string }) {
  const device = {
    system_name: 'web',
    common_name: 'web.example.com',
    connection: { instance_tag: tag },
  } as Device;
  return { device, signal: new AbortController().signal, log: () => {} };
}

describe('linux-ssm finds a tagged instance behind empty pages (finding 13)', () => {
  it('follows NextToken across pages that hold no match and runs on the one Online instance', async () => {
    const before = ssm.requests.length;
    const transport = await connectSsm(context({ key: 'role', value: 'web' }), {
      endpoint: ssm.endpoint,
      baseDelayMs: 5,
    });
    try {
      expect(await transport.run('probe', 'echo reached')).toBe('reached\n');
    } finally {
      transport.close();
    }
    const calls = ssm.requests.slice(before).filter((c) => c === 'DescribeInstanceInformation');
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(ssm.sentCommands.at(-1)?.InstanceIds).toEqual([`i-0b${String(105).padStart(15, '0')}`]);
  });

  it('counts matches on every page: two Online instances on different pages are refused', async () => {
    const error = await connectSsm(context({ key: 'role', value: 'db' }), {
      endpoint: ssm.endpoint,
      baseDelayMs: 5,
    }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/exactly one Online instance; it matches 2/);
  });
});
