import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Device } from '../../src/model/types.ts';
import { connectSsm, type SsmDriverOptions } from '../../src/platforms/linux-ssm/client.ts';
import { LAB_CREDENTIALS } from '../lab/dns/lab.ts';
import { SsmEmulator } from '../lab/ssm/emulator.ts';

// Issue 14, finding 14: SendCommand's TimeoutSeconds is the delivery timeout; the run is bounded by the
// document's executionTimeout (default 3600 s). An invocation goes through InvocationDoesNotExist, Pending,
// Delayed, InProgress, Cancelling before Success, Failed, TimedOut or Cancelled (test/lab/ssm/BEHAVIOUR.md).
let ssm: SsmEmulator;
let dir: string;
const savedEnv = { ...process.env };
const INSTANCE = 'i-0c0000000000000001';

beforeAll(async () => {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: LAB_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LAB_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'eu-west-1',
  });
  dir = mkdtempSync(join(tmpdir(), 'ssm-commands-'));
  ssm = new SsmEmulator();
  await ssm.start();
  ssm.instances.push({ id: INSTANCE, tags: {}, online: true, dir });
});

beforeEach(() => {
  Object.assign(ssm, { secondMs: 1000, registrationDelayMs: 20, deliveryDelayMs: 0, cancellingMs: 50 });
  ssm.instances[0]!.unreachable = false;
});

afterAll(async () => {
  await ssm?.stop();
  rmSync(dir, { recursive: true, force: true });
  for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
});

async function run(script: string, options: SsmDriverOptions = {}): Promise<string> {
  const device = {
    system_name: 'app',
    common_name: 'app.example.com',
    connection: { instance_id: INSTANCE },
  };
  const transport = await connectSsm(
    { device: device as Device, signal: new AbortController().signal, log: () => {} },
    { endpoint: ssm.endpoint, baseDelayMs: 5, ...options },
  );
  try {
    return await transport.run('step', script);
  } finally {
    transport.close();
  }
}

describe('linux-ssm commands as AWS runs them (finding 14)', () => {
  it('sends the run limit as executionTimeout and a delivery timeout as TimeoutSeconds', async () => {
    expect(await run('echo hi')).toBe('hi\n');
    const sent = ssm.sentCommands.at(-1)!;
    expect(sent.TimeoutSeconds).toBe(120);
    expect(sent.Parameters).toMatchObject({ executionTimeout: ['240'] });
  });

  it('a step that outlives its executionTimeout is stopped by the agent and fails as ExecutionTimedOut', async () => {
    ssm.secondMs = 100; // the lab clock: 5 s of executionTimeout last 500 ms
    const error = await run('sleep 30', { executionTimeoutSeconds: 5 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/\(TimedOut\/ExecutionTimedOut, exit 137\)/);
    expect((error as Error).message).toMatch(/ran past its 5 s executionTimeout/);
  }, 10_000);

  it('a step that runs longer than TimeoutSeconds is not stopped: that is only the delivery timeout', async () => {
    ssm.secondMs = 10; // TimeoutSeconds 30 lasts 300 ms, executionTimeout 240 lasts 2.4 s
    expect(await run('sleep 1; echo finished', { deliveryTimeoutSeconds: 30 })).toBe('finished\n');
  }, 10_000);

  it('waits through InvocationDoesNotExist, Pending and Delayed', async () => {
    ssm.registrationDelayMs = 400;
    ssm.deliveryDelayMs = 300;
    ssm.instances[0]!.unreachable = true;
    setTimeout(() => {
      ssm.instances[0]!.unreachable = false;
    }, 1200).unref();
    const before = ssm.requests.length;
    expect(await run('echo delivered')).toBe('delivered\n');
    expect(ssm.requests.slice(before).filter((c) => c === 'GetCommandInvocation').length).toBeGreaterThan(3);
  }, 10_000);

  it('takes Cancelling for "not yet" and fails the step once it is Cancelled', async () => {
    ssm.cancellingMs = 700;
    setTimeout(() => ssm.cancelCommand(ssm.lastCommandId!), 500).unref();
    const error = await run('sleep 10').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/\(Cancelled\/Cancelled, exit 137\): the command was cancelled/);
  }, 10_000);

  it('fails as DeliveryTimedOut when the agent cannot be reached within TimeoutSeconds', async () => {
    ssm.secondMs = 10; // 120 s of delivery timeout last 1.2 s
    ssm.instances[0]!.unreachable = true;
    const error = await run('echo never').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/\(TimedOut\/DeliveryTimedOut, exit -1\)/);
    expect((error as Error).message).toMatch(/could not deliver it within 120 s/);
  }, 10_000);

  it('gives up after its bound when the invocation never shows', async () => {
    ssm.registrationDelayMs = Number.POSITIVE_INFINITY;
    const error = await run('echo lost', { maxWaitMs: 2000 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /no outcome within 2 s; SSM has not registered the invocation yet/,
    );
  }, 10_000);

  it('refuses timeouts SSM would reject or the agent would silently replace, before sending anything', async () => {
    const before = ssm.sentCommands.length;
    await expect(run('true', { executionTimeoutSeconds: 2 })).rejects.toThrow(
      /execution timeout must be 5–172800/,
    );
    await expect(run('true', { deliveryTimeoutSeconds: 10 })).rejects.toThrow(
      /delivery timeout must be 30–2592000/,
    );
    expect(ssm.sentCommands).toHaveLength(before);
  });
});
