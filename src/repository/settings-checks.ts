import { settingsBoundaryFindings } from '../model/boundary.ts';
import { dnsNameProblem } from '../model/dns-name.ts';
import { error, type Finding, warning } from '../model/findings.ts';
import type { Route, RouteMatch, Settings } from '../model/types.ts';
import { OptionsError } from '../platforms/manifest.ts';
import { BUILT_IN_PLATFORMS, type PlatformRegistry } from '../platforms/registry.ts';
import { osVersionPatternProblem } from '../routing/match.ts';
import { DURATION_MESSAGE, parseDuration, parseRenewBefore } from '../util/duration.ts';
import { didYouMean } from '../util/suggest.ts';

/** Checks of routing/settings.yaml beyond its schema. `settings` has passed the schema. */
export function settingsFindings(settings: Settings): Finding[] {
  const findings: Finding[] = [];
  for (const [name, authority] of Object.entries(settings.authorities)) {
    const at = ['authorities', name];
    if (authority.renew_before !== undefined && parseRenewBefore(authority.renew_before) === undefined) {
      findings.push(
        error(
          [...at, 'renew_before'],
          'must be a fraction of the lifetime between 0 and 1 ("1/3", 0.25) or a duration ("30d")',
          'value',
        ),
      );
    }
    const key = authority.key;
    if (key?.type === 'rsa' && key.curve !== undefined) {
      findings.push(error([...at, 'key', 'curve'], 'applies to ecdsa keys only; RSA keys take size'));
    }
    if (key?.type === 'ecdsa' && key.size !== undefined) {
      findings.push(
        error([...at, 'key', 'size'], 'applies to rsa keys only; ECDSA keys take curve (P-256 or P-384)'),
      );
    }
    if (authority.staging_directory !== undefined && authority.staging_directory === authority.directory) {
      findings.push(
        warning(
          [...at, 'staging_directory'],
          'is the same URL as directory; --staging would issue real certificates',
        ),
      );
    }
  }
  const zoneProblem = dnsNameProblem(settings.dns.delegate_zone);
  if (zoneProblem)
    findings.push(error(['dns', 'delegate_zone'], `"${settings.dns.delegate_zone}" ${zoneProblem}`, 'value'));
  const propagation = settings.dns.propagation;
  if (propagation?.timeout !== undefined && parseDuration(propagation.timeout) === undefined) {
    findings.push(error(['dns', 'propagation', 'timeout'], DURATION_MESSAGE, 'value'));
  }
  if ((propagation?.check === 'doh' || propagation?.check === 'both') && propagation.doh_url === undefined) {
    findings.push(error(['dns', 'propagation'], `check "${propagation.check}" needs doh_url`));
  }
  if (settings.limits?.timeout !== undefined && parseDuration(settings.limits.timeout) === undefined) {
    findings.push(error(['limits', 'timeout'], DURATION_MESSAGE, 'value'));
  }
  findings.push(...settingsBoundaryFindings(settings));
  return findings;
}

/** Checks of routing/routes.yaml beyond its schema. `routes` has passed the schema. */
export function routesFindings(
  routes: readonly Route[],
  settings: Settings | undefined,
  platforms: PlatformRegistry = BUILT_IN_PLATFORMS,
): Finding[] {
  const findings: Finding[] = [];
  const names = new Map<string, number>();
  routes.forEach((route, i) => {
    const at = ['routes', i];
    const first = names.get(route.name);
    if (first !== undefined) {
      findings.push(
        error([...at, 'name'], `"${route.name}" is already the name of rule #${first + 1}`, 'value'),
      );
    } else {
      names.set(route.name, i);
    }
    findings.push(...routeOptionsFindings(route, at, platforms));
    if (route.match.os_version !== undefined) {
      const problem = osVersionPatternProblem(route.match.os_version);
      if (problem) findings.push(error([...at, 'match', 'os_version'], problem, 'value'));
    }
    const ca = route.match.certificate_authority;
    if (settings && ca !== undefined && !Object.hasOwn(settings.authorities, ca)) {
      const known = Object.keys(settings.authorities);
      findings.push(
        error(
          [...at, 'match', 'certificate_authority'],
          `"${ca}" is not an authority in routing/settings.yaml${didYouMean(ca, known) || ` (known: ${known.join(', ')})`}`,
          'value',
        ),
      );
    }
    for (let j = 0; j < i; j++) {
      if (covers(routes[j]!.match, route.match)) {
        findings.push(
          warning(
            at,
            `rule "${route.name}" never matches: rule "${routes[j]!.name}" (#${j + 1}) comes first and matches everything it does`,
          ),
        );
        break;
      }
    }
  });
  return findings;
}

/** Whether every device `later` matches is already matched by `earlier` (a conservative test). */
function covers(earlier: RouteMatch, later: RouteMatch): boolean {
  for (const field of ['host_platform', 'certificate_authority', 'data_center'] as const) {
    if (earlier[field] !== undefined && earlier[field] !== later[field]) return false;
  }
  if (earlier.device_model !== undefined) {
    if (later.device_model === undefined) return false;
    if (!later.device_model.every((model) => earlier.device_model!.includes(model))) return false;
  }
  if (earlier.os_version !== undefined) {
    if (later.os_version === undefined) return false;
    if (!patternCovers(earlier.os_version, later.os_version)) return false;
  }
  return true;
}

function patternCovers(earlier: string, later: string): boolean {
  const a = earlier.toLowerCase().split('.');
  const b = later.toLowerCase().split('.');
  for (let i = 0; i < a.length; i++) {
    const segment = a[i]!;
    const last = i === a.length - 1;
    if (last && segment === 'x') return b.length >= a.length && b.slice(i).every(Boolean);
    if (i >= b.length) return false;
    if (segment !== 'x' && segment !== b[i]) return false;
    if (segment === 'x' && b[i] === undefined) return false;
  }
  return a.length === b.length;
}

/** What the platform's own reading of a rule's options refuses (a duration that is none, a missing profile). */
function routeOptionsFindings(route: Route, at: (string | number)[], platforms: PlatformRegistry): Finding[] {
  const platform = platforms.get(route.platform);
  if (!platform) return [];
  try {
    platform.options.parse(route.options);
    return [];
  } catch (problem) {
    if (!(problem instanceof OptionsError)) throw problem;
    if (route.options && Object.hasOwn(route.options, problem.option))
      return [error([...at, 'options', problem.option], problem.problem, 'value')];
    return [error(route.options ? [...at, 'options'] : at, problem.message)];
  }
}
