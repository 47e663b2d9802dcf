import { getDomain } from 'tldts';
import type { Device, Settings } from '../model/types.ts';
import { WEEK } from '../util/duration.ts';

/**
 * Per-run rate-limit budgets, per authority, from its `rate_limits`:
 * - `orders_per_3h`: at most this many orders (one per device) in this run for that authority;
 * - `certificates_per_domain_per_week`: certificates per registered domain over the last 7 days, counting the
 *   certificates already issued (devices of that authority whose `rotated_at`, else `not_before`, lies in the last
 *   7 days) plus those planned in this run. A certificate counts once against each distinct registered domain among
 *   its names, as Let's Encrypt counts.
 * This is conservative: Let's Encrypt exempts ARI renewals (`replaces`) from some limits; we do not rely on that.
 * No `rate_limits` → unlimited.
 */

const domainCache = new Map<string, string>();
const DOMAIN_CACHE_LIMIT = 200_000;

/**
 * The registered domain (public suffix + one label, by the ICANN section of the Public Suffix List, tldts defaults)
 * a certificate name counts against. A wildcard counts against its base name's domain; a name whose registered
 * domain cannot be determined (an IP address, a bare public suffix, `localhost`) counts against itself.
 */
export function registeredDomain(name: string): string {
  const cached = domainCache.get(name);
  if (cached !== undefined) return cached;
  let base = name.toLowerCase();
  if (base.endsWith('.')) base = base.slice(0, -1);
  if (base.startsWith('*.')) base = base.slice(2);
  const domain = getDomain(base) ?? base;
  if (domainCache.size >= DOMAIN_CACHE_LIMIT) domainCache.clear();
  domainCache.set(name, domain);
  return domain;
}

/** The distinct registered domains among a device's certificate names (CN + SANs), in first-seen order. */
export function certificateDomains(device: Device): string[] {
  const domains = [registeredDomain(device.common_name)];
  for (const name of device.subject_alternative_names ?? []) {
    const domain = registeredDomain(name);
    if (!domains.includes(domain)) domains.push(domain);
  }
  return domains;
}

interface AuthorityBudget {
  name: string;
  ordersLimit: number | undefined;
  orders: number;
  perDomainLimit: number | undefined;
  /** Certificates per registered domain: already issued in the last 7 days + planned in this run. */
  perDomain: Map<string, number>;
}

export interface RunBudget {
  /**
   * Tries to reserve budget for one more certificate for `device`: undefined when admitted (the budget is
   * consumed), else the reason it is deferred (nothing is consumed, so later candidates may still fit).
   */
  admit(device: Device): string | undefined;
}

/**
 * Builds the budgets of one run. `inventory` is every device (for the already-used weekly counts); `now` the clock.
 */
export function createRunBudget(inventory: Iterable<Device>, settings: Settings, now: Date): RunBudget {
  const budgets = new Map<string, AuthorityBudget>();
  for (const [name, authority] of Object.entries(settings.authorities)) {
    const limits = authority.rate_limits;
    if (!limits) continue;
    const ordersLimit = limits.orders_per_3h;
    const perDomainLimit = limits.certificates_per_domain_per_week;
    if (ordersLimit === undefined && perDomainLimit === undefined) continue;
    budgets.set(name, { name, ordersLimit, orders: 0, perDomainLimit, perDomain: new Map() });
  }

  const nowMs = now.getTime();
  const weekAgo = nowMs - WEEK;
  if (budgets.size > 0) {
    for (const device of inventory) {
      const budget = budgets.get(device.certificate_authority);
      if (!budget || budget.perDomainLimit === undefined || !device.certificate) continue;
      const issuedText = device.certificate.rotated_at ?? device.certificate.not_before;
      if (issuedText === undefined) continue;
      const issued = Date.parse(issuedText);
      if (!(issued > weekAgo && issued <= nowMs)) continue;
      for (const domain of certificateDomains(device)) {
        budget.perDomain.set(domain, (budget.perDomain.get(domain) ?? 0) + 1);
      }
    }
  }

  return {
    admit(device: Device): string | undefined {
      const budget = budgets.get(device.certificate_authority);
      if (!budget) return undefined;
      if (budget.ordersLimit !== undefined && budget.orders >= budget.ordersLimit) {
        return `orders_per_3h at ${budget.name} exhausted (${budget.orders} of ${budget.ordersLimit} planned in this run)`;
      }
      let domains: string[] | undefined;
      if (budget.perDomainLimit !== undefined) {
        domains = certificateDomains(device);
        for (const domain of domains) {
          const used = budget.perDomain.get(domain) ?? 0;
          if (used >= budget.perDomainLimit) {
            return `certificates_per_domain_per_week for ${domain} at ${budget.name} exhausted (${used} of ${budget.perDomainLimit} used or planned)`;
          }
        }
      }
      budget.orders++;
      if (domains) {
        for (const domain of domains) budget.perDomain.set(domain, (budget.perDomain.get(domain) ?? 0) + 1);
      }
      return undefined;
    },
  };
}

/**
 * Applies the budgets to candidates in urgency order: each is admitted or deferred with the reason naming the
 * limit, the authority, the domain and the numbers. A deferred candidate consumes nothing.
 */
export function applyBudgets<T extends { device: Device }>(
  candidates: readonly T[],
  inventory: Iterable<Device>,
  settings: Settings,
  now: Date,
): { admitted: T[]; deferred: { candidate: T; reason: string }[] } {
  const budget = createRunBudget(inventory, settings, now);
  const admitted: T[] = [];
  const deferred: { candidate: T; reason: string }[] = [];
  for (const candidate of candidates) {
    const reason = budget.admit(candidate.device);
    if (reason === undefined) admitted.push(candidate);
    else deferred.push({ candidate, reason });
  }
  return { admitted, deferred };
}
