import { appendFileSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type RotatePort, rotateJob, workflowRunUrl } from '../../jobs/rotate-job.ts';
import { maskableParts, type SecretSource, secretsFile, secretsWithPrefix } from '../../secrets/source.ts';
import { didYouMean } from '../../util/suggest.ts';
import { parseFlags } from '../args.ts';
import { type CliIO, type Command, EXIT_FINDINGS, EXIT_OK, UsageError } from '../command.ts';
import { resolveRoot } from '../root.ts';

const HELP = `Usage: ottr rotate --device NAME (--secrets-file FILE | --secrets-env-prefix PREFIX) [options]
       ottr rotate --shard FILE   (--secrets-file FILE | --secrets-env-prefix PREFIX) [options]

Rotates devices through precheck → csr → order → install → verify → cleanup (rollback on an
install or verify failure, then a check that the previous certificate is served again).
The device makes its own key and CSR; the runner only ever holds the CSR and the chain.

Options:
  --device NAME    one device (a system_name)
  --shard FILE     several devices: a JSON list of system names, or {"devices": [...]};
                   limits.shard_concurrency run at once, a failure never stops the others
  --results DIR    write one <system_name>.json result per device (default: ./results)
  --dry-run        precheck and CSR check only; nothing is ordered or installed
  --staging        use the authority's staging_directory
  --root DIR       repository root (default: current directory)
  --secrets-file FILE
                   secret values from a JSON file {"NAME": "value", ...} (keep it out of git)
  --secrets-env-prefix PREFIX
                   secret values from the environment variables PREFIX<NAME> only, e.g.
                   OTTR_SECRET_LE_ACCOUNT_KEY for --secrets-env-prefix OTTR_SECRET_

Secrets are read only from the source you choose, and only under names routing/settings.yaml
declares and grants: the authority's account_key_secret (purpose acme_account) and each device's
connection.credentials (purpose device_credential, bound to the device's data center). No other
environment variable is ever read as a secret. AWS credentials come through the SDK's default
chain (OIDC in Actions); AWS_ENDPOINT_URL_ROUTE_53 points Route53 elsewhere.
Private ACME CAs: trust their HTTPS with NODE_EXTRA_CA_CERTS.

Exit codes: 0 every device rotated (or, with --dry-run, passed), 1 any device failed or was
rolled back, 2 usage error.`;

function shardNames(file: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read the shard file ${file}: ${(error as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { devices?: unknown } | null)?.devices;
  if (!Array.isArray(list) || !list.every((n) => typeof n === 'string') || list.length === 0) {
    throw new UsageError(`the shard file ${file} must hold a list of system names or {"devices": [...]}`);
  }
  return list as string[];
}

export const rotateCommand: Command = {
  name: 'rotate',
  summary: 'rotate one device (--device) or a shard of devices (--shard)',
  help: HELP,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      device: { type: 'string' },
      shard: { type: 'string' },
      root: { type: 'string' },
      results: { type: 'string' },
      'dry-run': { type: 'boolean' },
      staging: { type: 'boolean' },
      'secrets-file': { type: 'string' },
      'secrets-env-prefix': { type: 'string' },
    });
    if (!values.device === !values.shard) throw new UsageError('give --device NAME or --shard FILE');
    if (!values['secrets-file'] === !values['secrets-env-prefix'])
      throw new UsageError(
        'give where the secrets come from: --secrets-file FILE or --secrets-env-prefix PREFIX (ottr rotate --help)',
      );
    let secrets: SecretSource;
    try {
      secrets = values['secrets-file']
        ? secretsFile(resolve(io.cwd, values['secrets-file']))
        : secretsWithPrefix(io.env, values['secrets-env-prefix']!);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const names = values.device ? [values.device] : shardNames(resolve(io.cwd, values.shard!));
    const resultsDir = resolve(io.cwd, values.results ?? 'results');
    const runUrl = workflowRunUrl(io.env);
    const outcome = await rotateJob(
      {
        root: resolveRoot(values.root, io.cwd),
        devices: names,
        resultsDir,
        env: io.env,
        secrets,
        dryRun: values['dry-run'] === true,
        staging: values.staging === true,
        ...(runUrl ? { runUrl } : {}),
      },
      cliPort(io, secrets),
    );
    if (outcome.status === 'invalid-repository' || outcome.status === 'wrong-data-center') {
      io.stderr(`ottr rotate: ${outcome.message}\n`);
      return EXIT_FINDINGS;
    }
    if (outcome.status === 'unknown-devices') {
      throw new UsageError(
        `not in the inventory: ${outcome.unknown.map((n) => `"${n}"${didYouMean(n, outcome.known)}`).join(', ')}`,
      );
    }
    const { results, failed } = outcome;
    if (io.env.GITHUB_STEP_SUMMARY) appendFileSync(io.env.GITHUB_STEP_SUMMARY, outcome.summary);
    io.stdout(
      `\n${results.length - failed} of ${results.length} device(s) ${values['dry-run'] ? 'passed the dry run' : 'rotated'}; results in ${resultsDir}\n`,
    );
    return failed > 0 ? EXIT_FINDINGS : EXIT_OK;
  },
};

/** The command's port: aligned progress columns; under Actions, masks and one log group per phase. */
function cliPort(io: CliIO, secrets: SecretSource): RotatePort {
  const actions = io.env.GITHUB_ACTIONS === 'true';
  const line = (device: string, phase: string, message: string) =>
    io.stdout(`${device.padEnd(20)} ${phase.padEnd(9)} ${message}\n`);
  let openGroup = false;
  return {
    starting: () => io.stdout(`secrets: ${secrets.names().length} value(s) from ${secrets.description}\n`),
    progress: line,
    ...(actions
      ? {
          group(title: string | undefined) {
            if (openGroup) io.stdout('::endgroup::\n');
            if (title) io.stdout(`::group::${title}\n`);
            openGroup = title !== undefined;
          },
        }
      : {}),
    finished(result, outcome) {
      const timings = result.phases.map((p) => `${p.name} ${p.ms} ms`).join(', ');
      line(result.system_name, 'done', `${outcome}${timings ? ` (${timings})` : ''}`);
      if (result.rollback) line(result.system_name, 'rollback', result.rollback.message);
    },
    secret(value) {
      if (actions) for (const part of maskableParts(value)) io.stdout(`::add-mask::${part}\n`);
    },
  };
}
