import { resolve } from 'node:path';
import { loadRepository } from '../../repository/load.ts';
import { type EnvironmentNeeds, secretsByEnvironment } from '../../secrets/environments.ts';
import { type SecretSource, secretsFile, secretsWithPrefix } from '../../secrets/source.ts';
import { oneOf, parseFlags } from '../args.ts';
import { type Command, EXIT_FINDINGS, EXIT_OK, UsageError } from '../command.ts';
import { resolveRoot } from '../root.ts';

const FORMATS = ['text', 'json'] as const;

const HELP = `Usage: ottr secrets [--root DIR] [--format text|json]
                    [--secrets-file FILE | --secrets-env-prefix PREFIX | --present NAMES]

Prints, per GitHub environment, every secret name the repository needs there:
  pki-<data_center>  the rotate jobs of that data center: its devices' credentials and their
                     authorities' account keys (and EAB values)
  pki-report         the report job: Slack, the event webhook, the GitHub App key; never a
                     device credential
  pki-sync           the discovery job (sync.yml): the GitHub App key only
Each rotate job is given only the secrets of its own devices (the plan names them per matrix
entry, at most 8); an environment holds at most 100 secrets of at most 48 KB each.

Give the values, or just the names you have, to see which are missing (values are never printed):
  --secrets-file FILE          a JSON file {"NAME": "value", ...}
  --secrets-env-prefix PREFIX  environment variables PREFIX<NAME>
  --present NAMES              names that exist, comma separated (e.g. from
                               gh secret list --env pki-sfo1 --json name -q '.[].name')
The check is per environment only with --present ENV=NAME,... pairs, e.g.
  --present pki-sfo1=PANOS_SFO1_API_KEY,LE_ACCOUNT_KEY --present pki-report=SLACK_WEBHOOK_URL

Exit codes: 0 nothing missing (or nothing given to check), 1 a secret is missing or undeclared,
or the repository is invalid, 2 usage error.`;

interface Availability {
  has(environment: string, name: string): boolean;
  description: string;
}

function availability(
  values: {
    'secrets-file'?: string | undefined;
    'secrets-env-prefix'?: string | undefined;
    present?: string[] | undefined;
  },
  env: NodeJS.ProcessEnv,
  cwd: string,
): Availability | undefined {
  const given = [values['secrets-file'], values['secrets-env-prefix'], values.present].filter(
    (v) => v !== undefined,
  );
  if (given.length > 1) throw new UsageError('give one of --secrets-file, --secrets-env-prefix or --present');
  if (values.present) {
    const everywhere = new Set<string>();
    const perEnvironment = new Map<string, Set<string>>();
    for (const item of values.present) {
      const at = item.indexOf('=');
      const target = at > 0 ? item.slice(0, at) : undefined;
      const names = (at > 0 ? item.slice(at + 1) : item).split(/[\s,]+/).filter(Boolean);
      if (target === undefined) for (const n of names) everywhere.add(n);
      else {
        const set = perEnvironment.get(target) ?? new Set<string>();
        for (const n of names) set.add(n);
        perEnvironment.set(target, set);
      }
    }
    return {
      has: (environment, name) => everywhere.has(name) || perEnvironment.get(environment)?.has(name) === true,
      description: '--present',
    };
  }
  let source: SecretSource | undefined;
  try {
    if (values['secrets-file']) source = secretsFile(resolve(cwd, values['secrets-file']));
    else if (values['secrets-env-prefix']) source = secretsWithPrefix(env, values['secrets-env-prefix']);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (!source) return undefined;
  const found = source;
  return { has: (_environment, name) => found.get(name) !== undefined, description: found.description };
}

function textReport(
  needs: EnvironmentNeeds[],
  given: Availability | undefined,
): { lines: string[]; missing: number } {
  const lines: string[] = [];
  let missing = 0;
  for (const need of needs) {
    lines.push(
      `${need.environment}${need.data_center ? ` (rotate jobs in ${need.data_center})` : ' (report job)'}`,
    );
    if (need.secrets.length === 0) lines.push('  (no secrets)');
    for (const secret of need.secrets) {
      const state =
        secret.purpose === 'undeclared'
          ? 'NOT DECLARED in routing/settings.yaml'
          : given
            ? given.has(need.environment, secret.name)
              ? 'present'
              : 'MISSING'
            : '';
      if (state === 'MISSING' || secret.purpose === 'undeclared') missing++;
      const users = secret.used_by.length > 0 ? `  used by ${secret.used_by.join(', ')}` : '';
      lines.push(`  ${secret.name.padEnd(28)} ${secret.purpose.padEnd(17)} ${state}${users}`.trimEnd());
    }
    lines.push('');
  }
  return { lines, missing };
}

export const secretsCommand: Command = {
  name: 'secrets',
  summary: 'list the secret names each GitHub environment needs, and which are missing',
  help: HELP,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      root: { type: 'string' },
      format: { type: 'string' },
      'secrets-file': { type: 'string' },
      'secrets-env-prefix': { type: 'string' },
      present: { type: 'string', multiple: true },
    });
    const format = oneOf('format', values.format, FORMATS, 'text');
    const given = availability(values, io.env, io.cwd);
    const repository = await loadRepository(resolveRoot(values.root, io.cwd));
    if (!repository.settings) {
      io.stderr('ottr secrets: routing/settings.yaml is missing or invalid (ottr validate shows why)\n');
      return EXIT_FINDINGS;
    }
    const needs = secretsByEnvironment(repository.settings, repository.records);
    const invalid = repository.records.filter((r) => !r.device).length;
    if (format === 'json') {
      const withState = needs.map((n) => ({
        ...n,
        secrets: n.secrets.map((s) => ({
          ...s,
          ...(given ? { present: given.has(n.environment, s.name) } : {}),
        })),
      }));
      io.stdout(`${JSON.stringify({ environments: withState, invalid_devices: invalid }, null, 2)}\n`);
      const missing = withState.some((n) =>
        n.secrets.some((s) => s.purpose === 'undeclared' || s.present === false),
      );
      return missing ? EXIT_FINDINGS : EXIT_OK;
    }
    const { lines, missing } = textReport(needs, given);
    io.stdout(`${lines.join('\n')}`);
    if (invalid > 0) io.stdout(`${invalid} device file(s) with errors are left out; run ottr validate.\n`);
    if (given)
      io.stdout(
        `${missing === 0 ? 'nothing missing' : `${missing} missing`} (checked against ${given.description})\n`,
      );
    return missing > 0 ? EXIT_FINDINGS : EXIT_OK;
  },
};
