/**
 * Slack alerts for devices whose rotation failed, through an incoming webhook. The webhook URL is itself the
 * secret, so it is never logged or put in an error: failures name only "the Slack webhook" and an HTTP status or
 * a network error code. Notifying never throws and never fails the run.
 */

import { isFailure, type RotationResult } from '../model/results.ts';
import type { Device } from '../model/types.ts';
import { postJson } from './post.ts';

export const SLACK_TIMEOUT_MS = 5_000;
export const SLACK_MAX_RETRY_WAIT_MS = 5_000;
/** More failures than this become one summary message for the rest, not a flood of alerts. */
export const SLACK_MAX_MESSAGES = 10;

export interface SlackPayload {
  text: string;
  blocks: unknown[];
}

export interface SlackDelivery {
  sent: boolean;
  reason?: string;
}

export interface SlackPostOptions {
  timeoutMs?: number;
  maxRetryWaitMs?: number;
}

export interface SlackNotifyOptions extends SlackPostOptions {
  webhookUrl: string;
  results: readonly RotationResult[];
  /** The inventory, for the fields a result does not carry (IP, platform, OS version, CA, current expiry). */
  devices?: readonly Device[];
  runUrl?: string;
  maxMessages?: number;
}

export interface SlackNotifyOutcome {
  /** True when every alert was delivered; false with a reason otherwise (also when there was nothing to send). */
  sent: boolean;
  messages: number;
  reason?: string;
}

/** Slack's mrkdwn control characters; escaping `<` also stops `<!channel>` and `<@user>` from a device message. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function link(url: string | undefined, label: string): string | undefined {
  if (!url || !/^https?:\/\//i.test(url) || /[<>|\s]/.test(url)) return undefined;
  return `<${url}|${label}>`;
}

export function describeRollback(result: RotationResult): string {
  if (result.rollback)
    return result.rollback.restored
      ? `previous certificate restored${result.rollback.message ? ` (${result.rollback.message})` : ''}`
      : `NOT restored: ${result.rollback.message || 'no detail'}; the device may serve no valid certificate`;
  if (result.status === 'rolled_back') return 'rolled back to the previous certificate';
  return 'not needed: nothing was installed, the device serves its previous certificate';
}

/** One device's alert: Block Kit for the channel, plain `text` for notifications and clients without blocks. */
export function slackFailureMessage(
  result: RotationResult,
  device: Device | undefined,
  runUrl: string | undefined,
): SlackPayload {
  const name = result.system_name;
  const expiry = device?.certificate?.not_after ?? result.previous?.not_after ?? 'unknown';
  const error = result.error
    ? `${result.error.class}: ${result.error.message}`
    : result.status === 'rolled_back'
      ? 'rolled back'
      : 'no error recorded';
  const run = link(result.run_url ?? runUrl, 'the run');
  const fields: [string, string][] = [
    ['Device', name],
    ['IP address', device?.ip_address ?? '—'],
    ['Platform', device?.host_platform ?? '—'],
    ['OS version', device?.os_version ?? '—'],
    ['Certificate authority', device?.certificate_authority ?? '—'],
    ['Current expiry', expiry],
    ['Phase', result.error?.phase ?? '—'],
    ['Rollback', describeRollback(result)],
  ];
  const dryRun = result.dry_run ? ' (dry run)' : '';
  const heading = `Certificate rotation failed: ${name}${dryRun}`;
  const text = [
    `:rotating_light: ${escapeSlack(heading)}`,
    ...fields.map(([k, v]) => `${k}: ${escapeSlack(v)}`),
    `Error: ${escapeSlack(clip(error, 1500))}`,
    ...(run ? [`Run: ${run}`] : []),
  ].join('\n');
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(heading, 150), emoji: true } },
    {
      type: 'section',
      fields: fields.map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${escapeSlack(clip(v, 1900))}` })),
    },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Error*\n\`\`\`${escapeSlack(clip(error, 2800)).replace(/```/g, "'''")}\`\`\``,
      },
    },
  ];
  if (run) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Details in ${run}` }] });
  return { text, blocks };
}

function summaryMessage(rest: RotationResult[], runUrl: string | undefined): SlackPayload {
  const names = rest.map((r) => r.system_name);
  const listed = clip(names.join(', '), 2500);
  const run = link(runUrl, 'the run');
  const text = `:rotating_light: ${names.length} more device(s) failed to rotate: ${escapeSlack(listed)}${run ? `. Details in ${run}` : ''}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: clip(text, 2900) } }] };
}

/** Posts one payload; one retry after a 429 or 5xx, waiting what Retry-After asks up to the limit. Never throws. */
export async function postToSlack(
  webhookUrl: string,
  payload: SlackPayload,
  options: SlackPostOptions = {},
): Promise<SlackDelivery> {
  return postJson(webhookUrl, JSON.stringify(payload), {
    label: 'the Slack webhook',
    timeoutMs: options.timeoutMs ?? SLACK_TIMEOUT_MS,
    maxRetryWaitMs: options.maxRetryWaitMs ?? SLACK_MAX_RETRY_WAIT_MS,
  });
}

/**
 * One Slack message per failed or rolled-back device (up to `maxMessages`, the rest summarised in one more).
 * Stops at the first message that cannot be delivered: a webhook that is down would fail the others too.
 */
export async function notifySlack(options: SlackNotifyOptions): Promise<SlackNotifyOutcome> {
  const failed = options.results.filter(isFailure);
  if (failed.length === 0) return { sent: false, messages: 0, reason: 'no failed devices to report' };
  const byName = new Map((options.devices ?? []).map((d) => [d.system_name, d]));
  const max = Math.max(options.maxMessages ?? SLACK_MAX_MESSAGES, 1);
  const individual = failed.length > max ? failed.slice(0, max - 1) : failed;
  const payloads = individual.map((r) => slackFailureMessage(r, byName.get(r.system_name), options.runUrl));
  if (individual.length < failed.length)
    payloads.push(summaryMessage(failed.slice(individual.length), options.runUrl));
  let messages = 0;
  for (const payload of payloads) {
    const delivery = await postToSlack(options.webhookUrl, payload, options);
    if (!delivery.sent) return { sent: false, messages, reason: delivery.reason ?? 'not delivered' };
    messages++;
  }
  return { sent: true, messages };
}
