import type { Authority, Device } from '../model/types.ts';
import {
  DEFAULT_RENEW_BEFORE,
  formatDuration,
  formatFraction,
  parseRenewBefore,
  type RenewBefore,
} from '../util/duration.ts';

/**
 * Whether one device's certificate is due for rotation, and why. No lifetime and no threshold is assumed:
 * the CA's ARI window when one is recorded, else the authority's `renew_before` (a fraction of the recorded
 * lifetime, default 1/3, or a fixed duration before expiry).
 */
export type DueStatus =
  | {
      due: true;
      reason: string;
      /** Smaller = more urgent: the not_after epoch ms, or `now` when there is no usable expiry. */
      urgency: number;
      /** When the certificate became due (ISO), when that is known. */
      renew_at?: string;
    }
  | {
      due: false;
      reason: string;
      /** When the device becomes due (ISO): the next run after this needs to rotate it. */
      next_check_at?: string;
      renew_at?: string;
    };

/** A parsed `renew_before` with its text for reasons (`1/3`, `30d`). */
export type RenewRule = RenewBefore & { label: string };

const DEFAULT_RULE = ruleOf(DEFAULT_RENEW_BEFORE);
const renewRules = new WeakMap<Authority, RenewRule>();

function ruleOf(rule: RenewBefore): RenewRule {
  return rule.kind === 'fraction'
    ? { ...rule, label: formatFraction(rule.fraction) }
    : { ...rule, label: formatDuration(rule.ms) };
}

/**
 * The authority's `renew_before`, parsed once per authority object (settings are not mutated during a plan);
 * invalid (validation reports it) or absent → 1/3.
 */
export function renewRule(authority: Authority | undefined): RenewRule {
  if (!authority) return DEFAULT_RULE;
  let rule = renewRules.get(authority);
  if (!rule) {
    const parsed = parseRenewBefore(authority.renew_before);
    rule = parsed ? ruleOf(parsed) : DEFAULT_RULE;
    renewRules.set(authority, rule);
  }
  return rule;
}

/** An instant as ISO-8601 UTC without milliseconds when they are zero: `2026-11-23T00:00:00Z`. */
export function isoInstant(ms: number): string {
  const text = new Date(ms).toISOString();
  return text.endsWith('.000Z') ? `${text.slice(0, -5)}Z` : text;
}

function time(text: string | undefined): number {
  return text === undefined ? Number.NaN : Date.parse(text);
}

function unreadable(what: string, notAfter: number, nowMs: number): DueStatus {
  return {
    due: true,
    reason: `certificate dates unreadable (${what})`,
    urgency: Number.isFinite(notAfter) ? Math.min(notAfter, nowMs) : nowMs,
  };
}

export function dueStatus(
  device: Device,
  authority: Authority | undefined,
  now: Date,
  force: boolean,
): DueStatus {
  const nowMs = now.getTime();
  const cert = device.certificate;
  const notAfter = cert ? time(cert.not_after) : Number.NaN;
  if (force) {
    return {
      due: true,
      reason: 'forced (manual run)',
      urgency: Number.isFinite(notAfter) ? notAfter : nowMs,
    };
  }
  if (!cert) return { due: true, reason: 'never rotated (no certificate recorded)', urgency: nowMs };
  if (!Number.isFinite(notAfter)) return unreadable('not_after', notAfter, nowMs);
  if (nowMs >= notAfter) {
    return {
      due: true,
      reason: `expired ${formatDuration(nowMs - notAfter)} ago (${isoInstant(notAfter)})`,
      urgency: notAfter,
    };
  }

  const window = cert.renewal_window;
  if (window && authority?.ari !== false) {
    const start = time(window.start);
    const end = time(window.end);
    if (!Number.isFinite(start) || !Number.isFinite(end))
      return unreadable('renewal_window', notAfter, nowMs);
    const renew_at = isoInstant(start);
    if (nowMs >= end) {
      return {
        due: true,
        reason: `past the ARI renewal window end (${isoInstant(end)})`,
        urgency: notAfter,
        renew_at,
      };
    }
    if (nowMs >= start) {
      return {
        due: true,
        reason: `inside the ARI renewal window (${renew_at} to ${isoInstant(end)})`,
        urgency: notAfter,
        renew_at,
      };
    }
    return {
      due: false,
      reason: `ARI window starts ${renew_at} (in ${formatDuration(start - nowMs)})`,
      next_check_at: renew_at,
      renew_at,
    };
  }

  const left = formatDuration(notAfter - nowMs);
  const rule = renewRule(authority);
  let renewAt: number;
  let reason: string;
  if (rule.kind === 'duration') {
    renewAt = notAfter - rule.ms;
    reason = `${left} left (renews at ${rule.label} before expiry`;
  } else {
    let from = 'not_before';
    let start = time(cert.not_before);
    if (cert.not_before === undefined) {
      from = 'rotated_at';
      start = time(cert.rotated_at);
      if (cert.rotated_at === undefined) {
        return {
          due: true,
          reason: 'lifetime unknown (no not_before recorded); rotating records it',
          urgency: nowMs,
        };
      }
    }
    if (!Number.isFinite(start)) return unreadable(from, notAfter, nowMs);
    const lifetime = notAfter - start;
    if (lifetime <= 0) return unreadable(`${from} is not before not_after`, notAfter, nowMs);
    const margin = rule.fraction * lifetime;
    renewAt = notAfter - margin;
    const counted = from === 'rotated_at' ? ', counted from rotated_at' : '';
    reason = `${left} left of ${formatDuration(lifetime)} lifetime${counted} (renews at ${rule.label} = ${formatDuration(margin)}`;
  }
  const renew_at = isoInstant(renewAt);
  if (nowMs >= renewAt) return { due: true, reason: `${reason})`, urgency: notAfter, renew_at };
  return { due: false, reason: `${reason}, on ${renew_at})`, next_check_at: renew_at, renew_at };
}
