import { appendFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RotationResult } from '../../model/results.ts';
import { loadRepository } from '../../repository/load.ts';
import { rotateMany } from '../../rotate/run.ts';
import { rotationSummary } from '../../rotate/summary.ts';
import { maskableParts, type SecretSource, secretsFile, secretsWithPrefix } from '../../secrets/source.ts';
import { writeFileAtomic } from '../../util/files.ts';
import { didYouMean } from '../../util/suggest.ts';
import { parseFlags } from '../args.ts';
import { type Command, EXIT_FINDINGS, EXIT_OK, UsageError } from '../command.ts';
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
    const repo = await loadRepository(resolveRoot(values.root, io.cwd));
    if (!repo.settings || !repo.routes) {
      io.stderr(
        'ottr rotate: routing/settings.yaml or routing/routes.yaml is invalid (ottr validate shows why)\n',
      );
      return EXIT_FINDINGS;
    }
    const byName = new Map(repo.records.map((r) => [r.system_name, r]));
    const unknown = names.filter((n) => !byName.has(n));
    if (unknown.length > 0) {
      throw new UsageError(
        `not in the inventory: ${unknown.map((n) => `"${n}"${didYouMean(n, byName.keys())}`).join(', ')}`,
      );
    }
    const resultsDir = resolve(io.cwd, values.results ?? 'results');
    io.stdout(`secrets: ${secrets.names().length} value(s) from ${secrets.description}\n`);
    const actions = io.env.GITHUB_ACTIONS === 'true';
    const grouped = actions && names.length === 1;
    let openGroup = false;
    const runUrl =
      io.env.GITHUB_SERVER_URL && io.env.GITHUB_REPOSITORY && io.env.GITHUB_RUN_ID
        ? `${io.env.GITHUB_SERVER_URL}/${io.env.GITHUB_REPOSITORY}/actions/runs/${io.env.GITHUB_RUN_ID}`
        : undefined;
    const results: RotationResult[] = await rotateMany(
      repo,
      names.map((n) => byName.get(n)!),
      repo.settings.limits?.shard_concurrency ?? 4,
      {
        env: io.env,
        secrets,
        ...(values['dry-run'] ? { dryRun: true } : {}),
        ...(values.staging ? { staging: true } : {}),
        ...(runUrl ? { runUrl } : {}),
        onSecret: (value) => {
          if (actions) for (const part of maskableParts(value)) io.stdout(`::add-mask::${part}\n`);
        },
        log: (device, phase, message) => {
          // One log group per phase when a single device runs under Actions (groups of parallel devices would interleave).
          if (grouped && message === 'started') {
            if (openGroup) io.stdout('::endgroup::\n');
            io.stdout(`::group::${device}: ${phase}\n`);
            openGroup = true;
          }
          io.stdout(`${device.padEnd(20)} ${phase.padEnd(9)} ${message}\n`);
        },
      },
      (result) => {
        if (openGroup) {
          io.stdout('::endgroup::\n');
          openGroup = false;
        }
        writeFileAtomic(
          join(resultsDir, `${result.system_name}.json`),
          `${JSON.stringify(result, null, 2)}\n`,
        );
        const timings = result.phases.map((p) => `${p.name} ${p.ms} ms`).join(', ');
        const outcome = result.error
          ? `${result.status}: ${result.error.phase} ${result.error.class}: ${result.error.message}`
          : result.status;
        io.stdout(
          `${result.system_name.padEnd(20)} ${'done'.padEnd(9)} ${outcome}${timings ? ` (${timings})` : ''}\n`,
        );
        if (result.rollback)
          io.stdout(`${result.system_name.padEnd(20)} ${'rollback'.padEnd(9)} ${result.rollback.message}\n`);
      },
    );
    const bad = results.filter((r) => r.status === 'failed' || r.status === 'rolled_back');
    if (io.env.GITHUB_STEP_SUMMARY) appendFileSync(io.env.GITHUB_STEP_SUMMARY, rotationSummary(results));
    io.stdout(
      `\n${results.length - bad.length} of ${results.length} device(s) ${values['dry-run'] ? 'passed the dry run' : 'rotated'}; results in ${resultsDir}\n`,
    );
    return bad.length > 0 ? EXIT_FINDINGS : EXIT_OK;
  },
};
