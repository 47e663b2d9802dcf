import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { awsProxyOptions } from '../../net/agents.ts';
import { done, notYet, poll, retry } from '../../util/poll.ts';
import { sleep } from '../../util/sleep.ts';
import type { DriverContext } from '../contract.ts';
import type { RunStep } from '../shared/linux-steps.ts';

const OUTPUT_LIMIT = 24_000; // GetCommandInvocation returns at most this much stdout inline
const RETRYABLE = new Set(['ThrottlingException', 'Throttling', 'TooManyUpdates', 'RequestLimitExceeded']);
/** Not an outcome yet: waiting for delivery, running, or being cancelled (the SDK's CommandInvocationStatus). */
const NOT_YET = new Set(['Pending', 'InProgress', 'Delayed', 'Cancelling']);
/** Outcomes other than Success. */
const FAILED = new Set(['Cancelled', 'TimedOut', 'Failed']);
/** SendCommand TimeoutSeconds, the delivery timeout: the API's range. */
const DELIVERY_LIMITS = { min: 30, max: 2_592_000 };
/** AWS-RunShellScript executionTimeout the agent honours; outside this range it silently runs for 3600 s. */
const EXECUTION_LIMITS = { min: 5, max: 172_800 };
/** Once both timeouts have passed SSM has ended the command; this much longer for its status to show. */
const STATUS_GRACE_SECONDS = 60;

export interface SsmDriverOptions {
  endpoint?: string;
  /** Backoff base for throttling and polling. */
  baseDelayMs?: number;
  /** SendCommand TimeoutSeconds: how long SSM may try to deliver a step before giving up (30–2592000; 120). */
  deliveryTimeoutSeconds?: number;
  /** AWS-RunShellScript `executionTimeout`: how long a step may run once it started (5–172800; 240). */
  executionTimeoutSeconds?: number;
  /** The longest wait for one step's outcome; default delivery + execution timeout + 60 s. */
  maxWaitMs?: number;
}

/** The two timeouts SSM enforces for each step and the driver's own bound on waiting for its outcome. */
interface StepLimits {
  deliverySeconds: number;
  executionSeconds: number;
  maxWaitMs: number;
}

function stepLimits(options: SsmDriverOptions): StepLimits {
  const deliverySeconds = options.deliveryTimeoutSeconds ?? 120;
  const executionSeconds = options.executionTimeoutSeconds ?? 240;
  const within = (value: number, { min, max }: { min: number; max: number }) =>
    Number.isInteger(value) && value >= min && value <= max;
  if (!within(deliverySeconds, DELIVERY_LIMITS))
    throw new Error(`the SSM delivery timeout must be ${DELIVERY_LIMITS.min}–${DELIVERY_LIMITS.max} s`);
  if (!within(executionSeconds, EXECUTION_LIMITS))
    throw new Error(`the SSM execution timeout must be ${EXECUTION_LIMITS.min}–${EXECUTION_LIMITS.max} s`);
  const maxWaitMs = options.maxWaitMs ?? (deliverySeconds + executionSeconds + STATUS_GRACE_SECONDS) * 1000;
  return { deliverySeconds, executionSeconds, maxWaitMs };
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

/** One session's client, context, driver options and step limits, as the functions below share them. */
interface Ssm {
  client: SSMClient;
  context: SsmContext;
  options: SsmDriverOptions;
  limits: StepLimits;
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

/**
 * The Online instances carrying the tag. DescribeInstanceInformation filters each page after cutting it, so a
 * page may hold no match and still carry a NextToken: every page is read.
 */
async function onlineWithTag(ssm: Ssm, tag: { key: string; value: string }): Promise<string[]> {
  const online: string[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  do {
    const nextToken = token;
    const page = await call(ssm, 'DescribeInstanceInformation', (abortSignal) =>
      ssm.client.send(
        new DescribeInstanceInformationCommand({
          Filters: [{ Key: `tag:${tag.key}`, Values: [tag.value] }],
          MaxResults: 50,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
        { abortSignal },
      ),
    );
    for (const info of page.InstanceInformationList ?? [])
      if (info.PingStatus === 'Online' && info.InstanceId) online.push(info.InstanceId);
    token = page.NextToken || undefined;
    if (token && seen.has(token)) throw new Error('SSM DescribeInstanceInformation repeated a NextToken');
    if (token) seen.add(token);
  } while (token);
  return online;
}

/** `connection.instance_id`, or the one Online instance carrying `connection.instance_tag`. */
async function findInstance(ssm: Ssm): Promise<string> {
  const connection = ssm.context.device.connection ?? {};
  if (connection.instance_id) return connection.instance_id;
  const tag = connection.instance_tag;
  if (!tag) throw new Error('connection.instance_id or connection.instance_tag is required');
  const online = await onlineWithTag(ssm, tag);
  if (online.length !== 1) {
    throw new Error(
      `the tag ${tag.key}=${tag.value} must match exactly one Online instance; it matches ${online.length}`,
    );
  }
  return online[0]!;
}

/** One look at the invocation: its outcome, or why there is none yet. */
async function lookAt(ssm: Ssm, commandId: string, target: string) {
  let out: GetCommandInvocationCommandOutput;
  try {
    out = await ssm.client.send(
      new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: target }),
      {
        abortSignal: ssm.context.signal,
      },
    );
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    // Run Command is eventually consistent: the invocation is registered a moment after SendCommand.
    if (name === 'InvocationDoesNotExist') return notYet('SSM has not registered the invocation yet');
    if (RETRYABLE.has(name)) return notYet(`GetCommandInvocation throttled (${name})`);
    throw new Error(`SSM GetCommandInvocation: ${name}: ${(error as Error).message}`);
  }
  const status = out.Status ?? '';
  if (status === 'Success' || FAILED.has(status)) return done(out);
  // NOT_YET, and a status this driver does not know: never taken for an outcome.
  const known = NOT_YET.has(status) ? '' : ' (a status this driver does not know)';
  return notYet(`the command is ${out.StatusDetails || status || 'without a status'}${known}`);
}

/**
 * Polls GetCommandInvocation until the command has an outcome, for at most `limits.maxWaitMs`: longer than
 * SSM's own delivery and execution timeouts together, so when the wait ends SSM can no longer start the step.
 */
async function finished(
  ssm: Ssm,
  commandId: string,
  target: string,
): Promise<GetCommandInvocationCommandOutput> {
  const { context, limits } = ssm;
  await sleep(100, context.signal);
  const outcome = await poll(() => lookAt(ssm, commandId, target), {
    timeoutMs: limits.maxWaitMs,
    initialDelayMs: 200,
    maxDelayMs: 3000,
    signal: context.signal,
  });
  if (!outcome.ok)
    throw new Error(
      `SSM command ${commandId} on ${target}: no outcome within ${Math.round(limits.maxWaitMs / 1000)} s; ${outcome.reason}`,
    );
  return outcome.value;
}

/** Why a step failed, in SSM's words (StatusDetails) and the limit that ended it. */
function failure(ssm: Ssm, step: string, target: string, out: GetCommandInvocationCommandOutput): Error {
  const details = out.StatusDetails || out.Status;
  const why =
    details === 'DeliveryTimedOut'
      ? `SSM could not deliver it within ${ssm.limits.deliverySeconds} s`
      : details === 'ExecutionTimedOut'
        ? `it ran past its ${ssm.limits.executionSeconds} s executionTimeout and was stopped`
        : details === 'Cancelled'
          ? 'the command was cancelled'
          : (out.StandardErrorContent ?? '').trim().slice(0, 500);
  return new Error(
    `${step} failed on ${target} (${out.Status}/${details}, exit ${out.ResponseCode}): ${why}`,
  );
}

/** Runs one step as an `AWS-RunShellScript` command and returns its standard output. */
async function runStep(ssm: Ssm, target: string, step: string, script: string): Promise<string> {
  const sent = await call(ssm, 'SendCommand', (abortSignal) =>
    ssm.client.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [target],
        TimeoutSeconds: ssm.limits.deliverySeconds, // delivery only; the run is bounded by executionTimeout
        Comment: `ottr ${step}`.slice(0, 100),
        Parameters: { commands: [script], executionTimeout: [String(ssm.limits.executionSeconds)] },
      }),
      { abortSignal },
    ),
  );
  const out = await finished(ssm, sent.Command!.CommandId!, target);
  const stdout = out.StandardOutputContent ?? '';
  ssm.context.audit?.(stdout + (out.StandardErrorContent ?? ''));
  if (out.Status !== 'Success') throw failure(ssm, step, target, out);
  if (stdout.length >= OUTPUT_LIMIT)
    throw new Error(`${step} output on ${target} reached SSM's ${OUTPUT_LIMIT}-character limit and was cut`);
  return stdout;
}

/** An SSM client for the device's region (the lab's endpoint when set) and the instance it targets. */
export async function connectSsm(context: SsmContext, options: SsmDriverOptions): Promise<SsmTransport> {
  const connection = context.device.connection ?? {};
  const limits = stepLimits(options);
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_SSM;
  const client = new SSMClient({
    maxAttempts: 1, // throttling is retried here, with backoff and jitter
    ...(connection.region ? { region: connection.region } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...awsProxyOptions(),
  });
  const ssm: Ssm = { client, context, options, limits };
  const instanceId = await findInstance(ssm);
  return {
    run: (step, script) => runStep(ssm, instanceId, step, script),
    close: () => client.destroy(),
  };
}
