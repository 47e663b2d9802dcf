import { createHmac, randomUUID } from 'node:crypto';
import type { GitHubClient } from '../github/github-client.ts';
import { missingPermissionHint, withRateLimitRetries } from '../github/retry.ts';
import type { RotationResult } from '../model/results.ts';
import { postJson } from './post.ts';

export const ROTATED_EVENT = 'ottr-certificate-rotated';
export const SIGNATURE_HEADER = 'x-ottr-signature-256';

/** What other automation learns about a new certificate: the device and the certificate's identity, no secret. */
export interface RotatedEventPayload {
  system_name: string;
  serial: string;
  not_before: string;
  not_after: string;
  issuer: string;
  sha256_fingerprint: string;
  rotated_at: string;
  run_url?: string;
}

export function rotatedEventPayload(result: RotationResult): RotatedEventPayload | undefined {
  const c = result.certificate;
  if (result.status !== 'rotated' || !c || result.dry_run) return undefined;
  return {
    system_name: result.system_name,
    serial: c.serial,
    not_before: c.not_before,
    not_after: c.not_after,
    issuer: c.issuer,
    sha256_fingerprint: c.sha256_fingerprint,
    rotated_at: c.rotated_at,
    ...(result.run_url ? { run_url: result.run_url } : {}),
  };
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`, the form GitHub uses for its own webhooks. */
export function signBody(body: string, key: string): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

export interface EventOptions {
  results: readonly RotationResult[];
  /** repository_dispatch to this repository (needs a token with contents: write). */
  dispatch?: { octokit: GitHubClient; owner: string; repo: string };
  /** A signed POST per rotated device. */
  webhook?: { url: string; signingKey: string; timeoutMs?: number };
}

export interface EventOutcome {
  dispatched: string[];
  delivered: string[];
  /** Per device and channel, what could not be sent; never thrown. */
  errors: { device: string; channel: 'repository_dispatch' | 'webhook'; message: string }[];
}

/**
 * After a run, tells other automation about each new certificate: a repository_dispatch event
 * `ottr-certificate-rotated` (client_payload: the device and certificate) and/or a JSON POST to a configured URL,
 * signed with HMAC-SHA256 over the exact body in X-Ottr-Signature-256 (plus X-Ottr-Event and a delivery id).
 * The body carries `sent_at` so a receiver can refuse old replays. Failures are reported, never thrown.
 */
export async function sendRotationEvents(options: EventOptions): Promise<EventOutcome> {
  const outcome: EventOutcome = { dispatched: [], delivered: [], errors: [] };
  if (options.dispatch) withRateLimitRetries(options.dispatch.octokit);
  for (const result of options.results) {
    const payload = rotatedEventPayload(result);
    if (!payload) continue;
    if (options.dispatch) {
      const { octokit, owner, repo } = options.dispatch;
      try {
        await octokit.rest.repos.createDispatchEvent({
          owner,
          repo,
          event_type: ROTATED_EVENT,
          client_payload: payload as unknown as Record<string, unknown>,
        });
        outcome.dispatched.push(payload.system_name);
      } catch (error) {
        const status = (error as { status?: number }).status;
        outcome.errors.push({
          device: payload.system_name,
          channel: 'repository_dispatch',
          message: `GitHub answered ${status ?? 'no status'}: ${(missingPermissionHint(error, 'contents:write') ?? (error as Error)).message.split('\n')[0]}`,
        });
      }
    }
    if (options.webhook) {
      const body = JSON.stringify({
        event: ROTATED_EVENT,
        sent_at: new Date().toISOString(),
        device: payload,
      });
      const delivery = await postJson(options.webhook.url, body, {
        label: 'the event webhook',
        timeoutMs: options.webhook.timeoutMs ?? 5000,
        maxRetryWaitMs: 5000,
        headers: {
          [SIGNATURE_HEADER]: signBody(body, options.webhook.signingKey),
          'x-ottr-event': ROTATED_EVENT,
          'x-ottr-delivery': randomUUID(),
        },
      });
      if (delivery.sent) outcome.delivered.push(payload.system_name);
      else
        outcome.errors.push({
          device: payload.system_name,
          channel: 'webhook',
          message: delivery.reason ?? 'not delivered',
        });
    }
  }
  return outcome;
}
