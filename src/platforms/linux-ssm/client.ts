import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { done, notYet, poll, retry } from '../../util/poll.ts';
import { sleep } from '../../util/sleep.ts';
import type { DriverContext } from '../contract.ts';
import type { RunStep } from '../shared/linux-steps.ts';

const OUTPUT_LIMIT = 24_000; // GetCommandInvocation returns at most this much stdout inline
const RETRYABLE = new Set(['ThrottlingException', 'Throttling', 'TooManyUpdates', 'RequestLimitExceeded']);
const RUNNING = new Set(['Pending', 'InProgress', 'Delayed']);

export interface SsmDriverOptions {
  endpoint?: string;
  /** Backoff base for throttling and polling. */
  baseDelayMs?: number;
  commandTimeoutSeconds?: number;
}

/** What of the driver context the transport uses. */
type SsmContext = Pick<DriverContext, 'device' | 'signal' | 'log' | 'audit'>;

/** Run Command on one instance: each step is one `AWS-RunShellScript` command, its output read back. */
export interface SsmTransport {
  run: RunStep;
  close(): void;
}

/** A failed SSM call, named after the call and the service's error; `code` says whether it is retried. */
class SsmCallError extends Error {
  constructor(
    what: string,
    readonly code: string,
    message: string,
  ) {
    super(`SSM ${what}: ${code}: ${message}`);
  }
}

/** One session's client, context and driver options, as the functions below share them. */
interface Ssm {
  client: SSMClient;
  context: SsmContext;
  options: SsmDriverOptions;
}

/** Sends one request; throttling is retried with exponential backoff and full jitter (8 tries in all). */
function call<T>(ssm: Ssm, what: string, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const { signal } = ssm.context;
  return retry(
    async () => {
      try {
        return await send(signal);
      } catch (error) {
        throw new SsmCallError(what, (error as { name?: string }).name ?? '', (error as Error).message);
      }
    },
    {
      attempts: 8,
      retryable: (error) => RETRYABLE.has((error as SsmCallError).code),
      baseMs: ssm.options.baseDelayMs ?? 200,
      capMs: 10_000,
      signal,
      onRetry: (_error, _attempt, delay) =>
        ssm.context.log(`SSM ${what} throttled; retrying in ${Math.round(delay)} ms`),
    },
  );
}

/** `connection.instance_id`, or the one Online instance carrying `connection.instance_tag`. */
async function findInstance(ssm: Ssm): Promise<string> {
  const connection = ssm.context.device.connection ?? {};
  if (connection.instance_id) return connection.instance_id;
  const tag = connection.instance_tag;
  if (!tag) throw new Error('connection.instance_id or connection.instance_tag is required');
  const found = await call(ssm, 'DescribeInstanceInformation', (abortSignal) =>
    ssm.client.send(
      new DescribeInstanceInformationCommand({
        Filters: [{ Key: `tag:${tag.key}`, Values: [tag.value] }],
      }),
      { abortSignal },
    ),
  );
  const online = (found.InstanceInformationList ?? []).filter((i) => i.PingStatus === 'Online');
  if (online.length !== 1) {
    throw new Error(
      `the tag ${tag.key}=${tag.value} must match exactly one Online instance; it matches ${online.length}`,
    );
  }
  return online[0]!.InstanceId!;
}

/**
 * Polls GetCommandInvocation until the command has finished. An invocation is registered a moment after
 * SendCommand (until then `InvocationDoesNotExist`), so the first look comes after a first pause. No deadline
 * of its own: SSM ends the command (TimeoutSeconds, the document's execution timeout), the job's signal the wait.
 */
async function finished(
  ssm: Ssm,
  commandId: string,
  target: string,
): Promise<GetCommandInvocationCommandOutput> {
  const { client, context } = ssm;
  await sleep(100, context.signal);
  const outcome = await poll(
    async () => {
      let out: GetCommandInvocationCommandOutput;
      try {
        out = await client.send(
          new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: target }),
          { abortSignal: context.signal },
        );
      } catch (error) {
        const name = (error as { name?: string }).name ?? '';
        if (name === 'InvocationDoesNotExist') return notYet('the invocation is not registered yet');
        if (RETRYABLE.has(name)) return notYet(`GetCommandInvocation throttled (${name})`);
        throw new Error(`SSM GetCommandInvocation: ${name}: ${(error as Error).message}`);
      }
      return RUNNING.has(out.Status ?? '') ? notYet(`the command is ${out.Status}`) : done(out);
    },
    { timeoutMs: Number.POSITIVE_INFINITY, initialDelayMs: 200, maxDelayMs: 3000, signal: context.signal },
  );
  if (!outcome.ok) throw new Error(`SSM command ${commandId} on ${target}: ${outcome.reason}`);
  return outcome.value;
}

/** Runs one step as an `AWS-RunShellScript` command and returns its standard output. */
async function runStep(ssm: Ssm, target: string, step: string, script: string): Promise<string> {
  const sent = await call(ssm, 'SendCommand', (abortSignal) =>
    ssm.client.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [target],
        TimeoutSeconds: ssm.options.commandTimeoutSeconds ?? 240,
        Comment: `ottr ${step}`.slice(0, 100),
        Parameters: { commands: [script] },
      }),
      { abortSignal },
    ),
  );
  const out = await finished(ssm, sent.Command!.CommandId!, target);
  const stdout = out.StandardOutputContent ?? '';
  ssm.context.audit?.(stdout + (out.StandardErrorContent ?? ''));
  if (out.Status !== 'Success') {
    throw new Error(
      `${step} failed on ${target} (${out.Status}, exit ${out.ResponseCode}): ${(out.StandardErrorContent ?? '').trim().slice(0, 500)}`,
    );
  }
  if (stdout.length >= OUTPUT_LIMIT)
    throw new Error(`${step} output on ${target} reached SSM's ${OUTPUT_LIMIT}-character limit and was cut`);
  return stdout;
}

/** An SSM client for the device's region (the lab's endpoint when set) and the instance it targets. */
export async function connectSsm(context: SsmContext, options: SsmDriverOptions): Promise<SsmTransport> {
  const connection = context.device.connection ?? {};
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_SSM;
  const client = new SSMClient({
    maxAttempts: 1, // throttling is retried here, with backoff and jitter
    ...(connection.region ? { region: connection.region } : {}),
    ...(endpoint ? { endpoint } : {}),
  });
  const ssm: Ssm = { client, context, options };
  const instanceId = await findInstance(ssm);
  return {
    run: (step, script) => runStep(ssm, instanceId, step, script),
    close: () => client.destroy(),
  };
}
