import {
  type Change,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { awsProxyOptions } from '../net/agents.ts';
import { done, notYet, poll, retry } from '../util/poll.ts';
import { DnsError } from './errors.ts';
import type { TxtProvider } from './provider.ts';

export interface Route53Options {
  hostedZoneId: string;
  /** Another endpoint (the lab); the SDK also honours AWS_ENDPOINT_URL_ROUTE_53. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Tries per request when throttled (or PriorRequestNotComplete, 5xx), and per change when it conflicts. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  insyncTimeoutMs?: number;
  ttl?: number;
  log?: (line: string) => void;
}

const RETRYABLE = new Set(['Throttling', 'ThrottlingException', 'PriorRequestNotComplete']);

/**
 * A failed Route53 call as a DnsError. Throttling is retried per request and a conflict per change, so their
 * message is the one the last try leaves: how many tries were made.
 */
function classify(error: unknown, where: string, attempt: number): DnsError {
  const code = (error as { name?: string }).name ?? 'Error';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  // Route53 reports a rejected batch in two shapes; the older <InvalidChangeBatch><Messages> root reaches
  // SDK v3 as an error named "Unknown" carrying Messages.
  const legacyBatchError = code === 'Unknown' && status === 400 && 'Messages' in (error as object);
  const tried = (kind: 'conflict' | 'throttled') =>
    new DnsError(kind, `${where} failed after ${attempt} attempts (${code})`);
  if (code === 'InvalidChangeBatch' || legacyBatchError) return tried('conflict');
  if (RETRYABLE.has(code) || (status !== undefined && status >= 500)) return tried('throttled');
  const kind = status === 403 ? 'denied' : code === 'NoSuchHostedZone' ? 'not_found' : 'failed';
  return new DnsError(kind, `${where}: ${code}: ${(error as Error).message}`);
}

const quote = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const unquote = (value: string) => value.replace(/^"|"$/g, '').replace(/"\s+"/g, '').replace(/\\(.)/g, '$1');
const normalise = (name: string) => name.toLowerCase().replace(/\.$/, '');

/**
 * The Route53 TXT provider for DNS-01. UPSERT replaces a whole record set, so two jobs adding values to one
 * name would overwrite each other. Every change is instead a compare-and-swap: one batch that DELETEs the exact
 * set read and CREATEs the new one; Route53 applies it atomically or rejects it (InvalidChangeBatch) when the
 * set changed meanwhile, and then it is read again and retried. Route53 allows five requests per second per
 * account, reads included: every request (ListResourceRecordSets, ChangeResourceRecordSets, GetChange) is
 * retried on Throttling, PriorRequestNotComplete and 5xx with exponential backoff and full jitter; each change
 * is waited for until INSYNC.
 */
export function route53Provider(options: Route53Options): TxtProvider {
  const client = new Route53Client({
    region: 'us-east-1', // Route53 is global; its endpoint lives in us-east-1
    maxAttempts: 1, // retries are ours: full jitter, and conflicts handled apart from throttling
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...awsProxyOptions(),
  });
  const zone = options.hostedZoneId.replace(/^\/?hostedzone\//, '');
  const attempts = options.maxAttempts ?? 8;
  const base = options.baseDelayMs ?? 100;
  const cap = options.maxDelayMs ?? 5000;
  const ttl = options.ttl ?? 60;
  const backoff = (signal?: AbortSignal) => ({
    attempts,
    baseMs: base,
    capMs: cap,
    ...(signal ? { signal } : {}),
  });

  /** One request, retried while Route53 throttles it (or answers PriorRequestNotComplete or a 5xx). */
  function send<T>(call: string, where: string, request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let code = '';
    return retry(
      async (attempt) => {
        try {
          return await request();
        } catch (error) {
          if (signal?.aborted) throw signal.reason;
          code = (error as { name?: string }).name ?? 'Error';
          throw classify(error, `${where}: ${call}`, attempt);
        }
      },
      {
        ...backoff(signal),
        retryable: (error) => error instanceof DnsError && error.code === 'throttled',
        onRetry: (_error, _attempt, delay) =>
          options.log?.(`route53: ${where}: ${call} ${code}, retrying in ${Math.round(delay)} ms`),
      },
    );
  }

  async function readSet(
    name: string,
    where: string,
    signal?: AbortSignal,
  ): Promise<ResourceRecordSet | undefined> {
    const out = await send(
      'ListResourceRecordSets',
      where,
      () =>
        client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: zone,
            StartRecordName: name,
            StartRecordType: 'TXT',
            MaxItems: 1,
          }),
          signal ? { abortSignal: signal } : {},
        ),
      signal,
    );
    const set = out.ResourceRecordSets?.[0];
    return set && normalise(set.Name ?? '') === name && set.Type === 'TXT' ? set : undefined;
  }

  async function waitInsync(changeId: string, where: string, signal?: AbortSignal): Promise<void> {
    const timeoutMs = options.insyncTimeoutMs ?? 120_000;
    const outcome = await poll(
      async () => {
        const out = await send(
          'GetChange',
          where,
          () => client.send(new GetChangeCommand({ Id: changeId }), signal ? { abortSignal: signal } : {}),
          signal,
        );
        const status = out.ChangeInfo?.Status;
        return status === 'INSYNC' ? done(status) : notYet(`${status}`);
      },
      { timeoutMs, initialDelayMs: 50, maxDelayMs: 2000, ...(signal ? { signal } : {}) },
    );
    if (!outcome.ok)
      throw new DnsError('timeout', `Route53 change ${changeId} not INSYNC after ${timeoutMs} ms`);
  }

  /** One compare-and-swap of the TXT set at `fqdn`: read it, and replace exactly what was read. */
  async function swap(
    fqdn: string,
    what: string,
    next: (values: string[]) => string[] | undefined,
    signal?: AbortSignal,
  ) {
    const where = `Route53 ${what} at ${fqdn}`;
    const current = await readSet(fqdn, where, signal);
    const values = (current?.ResourceRecords ?? []).map((r) => unquote(r.Value ?? ''));
    const wanted = next(values);
    if (!wanted) return; // nothing to do
    const changes: Change[] = [];
    if (current) changes.push({ Action: 'DELETE', ResourceRecordSet: current });
    if (wanted.length > 0) {
      changes.push({
        Action: 'CREATE',
        ResourceRecordSet: {
          Name: fqdn,
          Type: 'TXT',
          TTL: current?.TTL ?? ttl,
          ResourceRecords: wanted.map((v) => ({ Value: quote(v) })),
        },
      });
    }
    const batch = new ChangeResourceRecordSetsCommand({
      HostedZoneId: zone,
      ChangeBatch: { Comment: `ottr ${what}`, Changes: changes },
    });
    const out = await send(
      'ChangeResourceRecordSets',
      where,
      () => client.send(batch, signal ? { abortSignal: signal } : {}),
      signal,
    );
    await waitInsync(out.ChangeInfo!.Id!, where, signal);
  }

  /** Compare-and-swap until it applies: a conflict (the set changed since it was read) reads it again. */
  async function update(
    name: string,
    what: string,
    next: (values: string[]) => string[] | undefined,
    signal?: AbortSignal,
  ) {
    const fqdn = normalise(name);
    await retry(
      async (attempt) => {
        try {
          await swap(fqdn, what, next, signal);
        } catch (error) {
          if (signal?.aborted) throw signal.reason;
          if (error instanceof DnsError && error.code === 'conflict')
            throw new DnsError(
              'conflict',
              `Route53 ${what} at ${fqdn} failed after ${attempt} attempts (conflict)`,
            );
          throw error instanceof DnsError ? error : classify(error, `Route53 ${what} at ${fqdn}`, attempt);
        }
      },
      {
        ...backoff(signal),
        retryable: (error) => error instanceof DnsError && error.code === 'conflict',
        onRetry: (_error, _attempt, delay) =>
          options.log?.(`route53: ${what} at ${fqdn}: conflict, retrying in ${Math.round(delay)} ms`),
      },
    );
  }

  return {
    addTxt: (name, value, signal) =>
      update(name, 'add TXT', (values) => (values.includes(value) ? undefined : [...values, value]), signal),
    removeTxt: (name, value, signal) =>
      update(
        name,
        'remove TXT',
        (values) => (values.includes(value) ? values.filter((v) => v !== value) : undefined),
        signal,
      ),
  };
}
