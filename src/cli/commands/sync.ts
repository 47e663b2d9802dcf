import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  awsClientsFor,
  DEFAULT_TAG_PREFIX,
  instanceCandidate,
  listManagedInstances,
  regionFrom,
  ssmPlanOptions,
} from '../../sync/aws-ssm.ts';
import { CsvSyntaxError } from '../../sync/csv.ts';
import {
  COLUMN_ALIASES,
  filePlanOptions,
  formatOf,
  parseExport,
  rowCandidate,
} from '../../sync/export-file.ts';
import { JsonExportError } from '../../sync/json-export.ts';
import { proposeSync, syncReportJson, syncReportText } from '../../sync/propose-sync.ts';
import { writeProposedFiles } from '../../sync/proposed-files.ts';
import type { Candidate, PlanOptions } from '../../sync/sync-plan.ts';
import { oneOf, parseFlags } from '../args.ts';
import { type CliIO, type Command, EXIT_FINDINGS, EXIT_OK, UsageError } from '../command.ts';
import { resolveRoot } from '../root.ts';

const HELP = `Usage: ottr sync aws-ssm [--region R] [--tag-prefix ottr:] [--write | --out DIR] [--format text|json]
       ottr sync file FILE [--format csv|json] [--source NAME] [--write | --out DIR] [--report text|json]

Proposes device files from what a source knows, compared with the inventory:
  new        devices the inventory lacks, rendered as ottr onboard writes them
  update     devices already in the inventory (same instance id, system_name or common_name):
             only the fields the source owns change (listed with old and new values)
  skipped    what the source lists but cannot describe, with the reason (e.g. the missing tag)
  vanished   devices the source answers for but no longer lists: LISTED, never deleted
  invalid    proposals that would not validate (file:line problems): never written
Dry run by default. --write writes the proposals into the repository, --out DIR under DIR.
Every device created or updated gets the label ottr/source: <source>.

aws-ssm: every SSM managed instance (DescribeInstanceInformation, paginated) and its tags
(ListTagsForResource). Tags (with --tag-prefix, default "ottr:"):
  ottr:common_name, ottr:data_center, ottr:certificate_authority   required
  ottr:san (comma list), ottr:owner, ottr:system_name               optional
New devices: host_platform linux, device_model ec2, os_version from the agent's
PlatformVersion, connection.instance_id and region; system_name from ottr:system_name, else
the Name tag, else the common name's first label. Updates touch only tagged fields. A device
with an instance_id that SSM no longer lists, or lists as ConnectionLost, is vanished.
Region: --region, else AWS_REGION. AWS_ENDPOINT_URL_SSM points the client elsewhere.

file: a CMDB export, CSV with a header row or JSON (an array of objects, or an object whose
items/devices/records/rows/result is one). Columns, by name (case, spaces, - and . ignored):
${Object.entries(COLUMN_ALIASES)
  .map(([field, aliases]) => `  ${field.padEnd(26)} ${aliases.join(', ')}`)
  .join('\n')}
Platform spellings PAN-OS, BIG-IP and Opengear become panos, f5 and lighthouse; authority
names become keys (Let's Encrypt → lets_encrypt). The export owns the columns it has: an
update changes only those. Devices labelled ottr/source: NAME (--source, default cmdb) that
the export no longer lists are vanished.

Options:
  --root DIR        repository root (default: current directory)
  --write           write the proposals into the repository
  --out DIR         write the proposals under DIR instead (same inventory/ layout)
  --format FMT      aws-ssm: text (default) or json; file: the export's format (default: by extension)
  --report FMT      text (default) or json
  --region R        aws-ssm: the region to ask
  --tag-prefix P    aws-ssm: the tags' prefix (default ottr:)
  --source NAME     file: the source label (default cmdb)

Exit codes: 0 proposals made (or nothing to do); 1 some proposals would not validate, or the
source could not be read; 2 usage error.`;

const REPORTS = ['text', 'json'] as const;

function readExport(io: CliIO, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(resolve(io.cwd, path)));
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(`${path} is not UTF-8 text`);
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? 'unreadable')}`);
  }
}

export const syncCommand: Command = {
  name: 'sync',
  summary: 'propose device files from AWS SSM or a CMDB export (new, updated, vanished)',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      {
        root: { type: 'string' },
        write: { type: 'boolean' },
        out: { type: 'string' },
        format: { type: 'string' },
        report: { type: 'string' },
        region: { type: 'string' },
        'tag-prefix': { type: 'string' },
        source: { type: 'string' },
      },
      true,
    );
    const [kind, ...rest] = positionals;
    if (kind !== 'aws-ssm' && kind !== 'file')
      throw new UsageError('say which source: ottr sync aws-ssm, or ottr sync file FILE');
    if (values.write && values.out) throw new UsageError('--write and --out exclude each other');
    const root = resolveRoot(values.root, io.cwd);

    let candidates: Candidate[];
    let options: PlanOptions;
    let report: 'text' | 'json';
    if (kind === 'aws-ssm') {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      if (values.source) throw new UsageError('--source is for ottr sync file');
      report = oneOf('format', values.format ?? values.report, REPORTS, 'text');
      const region = regionFrom(values.region, io.env);
      if (!region) throw new UsageError('no region: pass --region or set AWS_REGION');
      const tagPrefix = values['tag-prefix'] ?? DEFAULT_TAG_PREFIX;
      const client = awsClientsFor(region, io.env);
      let instances: Awaited<ReturnType<typeof listManagedInstances>>;
      try {
        instances = await listManagedInstances(client);
      } catch (error) {
        io.stderr(`ottr sync: SSM in ${region}: ${(error as Error).name}: ${(error as Error).message}\n`);
        return EXIT_FINDINGS;
      } finally {
        client.destroy();
      }
      candidates = instances.map((i) => instanceCandidate(i, { tagPrefix, region }));
      options = ssmPlanOptions(region);
      io.stderr(`ottr sync: ${instances.length} managed instance(s) in ${region}\n`);
    } else {
      const [file, ...extra] = rest;
      if (!file) throw new UsageError('name the export: ottr sync file FILE');
      if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
      if (values.region || values['tag-prefix'])
        throw new UsageError('--region and --tag-prefix are for ottr sync aws-ssm');
      const format = oneOf('format', values.format, ['csv', 'json'] as const, formatOf(file));
      report = oneOf('report', values.report, REPORTS, 'text');
      const source = values.source ?? 'cmdb';
      if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/.test(source))
        throw new UsageError('--source is a label value: letters, digits, . _ / - (at most 64)');
      try {
        candidates = parseExport(readExport(io, file), format).map(rowCandidate);
      } catch (error) {
        if (error instanceof UsageError) throw error;
        const where =
          error instanceof JsonExportError
            ? `${file}:${error.line}:${error.column}: invalid JSON: ${error.detail}`
            : error instanceof CsvSyntaxError
              ? `${file}:${error.line}: invalid CSV: ${error.detail}`
              : `${file}: ${(error as Error).message}`;
        io.stderr(`ottr sync: ${where}\n`);
        return EXIT_FINDINGS;
      }
      options = filePlanOptions(source);
    }

    let proposal: Awaited<ReturnType<typeof proposeSync>>;
    try {
      proposal = await proposeSync(root, candidates, options);
    } catch (error) {
      io.stderr(`ottr sync: ${(error as Error).message}\n`);
      return EXIT_FINDINGS;
    }
    const target = values.write ? root : values.out ? resolve(io.cwd, values.out) : undefined;
    const written = target ? writeProposedFiles(target, proposal.files) : undefined;
    if (report === 'json') io.stdout(`${JSON.stringify(syncReportJson(proposal, written), null, 2)}\n`);
    else io.stdout(syncReportText(proposal, written));
    return proposal.files.some((f) => !f.valid) ? EXIT_FINDINGS : EXIT_OK;
  },
};
