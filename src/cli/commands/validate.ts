import {
  countBySeverity,
  formatProblemGithub,
  formatProblemText,
  type Problem,
} from '../../model/problems.ts';
import { loadRepository } from '../../repository/load.ts';
import { oneOf, parseFlags } from '../args.ts';
import { type Command, EXIT_FINDINGS, EXIT_OK } from '../command.ts';
import { resolveRoot } from '../root.ts';

const FORMATS = ['text', 'json', 'github'] as const;

const HELP = `Usage: ottr validate [--root DIR] [--format text|json|github]

Checks the whole repository: routing/settings.yaml, routing/routes.yaml and every
inventory/<data_center>/<system_name>.yaml against the JSON Schemas in schemas/ and
the rules no schema can express:
  - system_name equals the file's base name and is unique; data_center equals the folder
  - common_name and subject_alternative_names are valid DNS names (lowercase LDH labels,
    at most 63 characters per label and 253 in all, a wildcard only as the whole leftmost
    label, no duplicates, at most 100 names)
  - ip_address is an IPv4 or IPv6 address; secret fields hold secret NAMES, never values
  - certificate_authority names an authority in settings.yaml
  - a routing rule matches the device (else: which rule came closest and why not)
  - the platform driver the rule picks gets what it needs (SSH devices pin ssh_host_key)
YAML errors, duplicate keys, alias bombs, non-UTF-8 and oversized files are findings too.

Options:
  --root DIR      repository root (default: current directory)
  --format FMT    text (default): file:line:col: severity: field: message
                  json: {"valid", "devices", "errors", "warnings", "problems": [...],
                         "routed": [{"system_name", "file", "route", "platform"}]}
                  github: workflow annotations (::error file=…,line=…,col=…::…) for pull requests
  --verbose       text format: also print the routing rule and platform of every device

Exit codes: 0 valid (warnings allowed), 1 errors found, 2 usage error.`;

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check inventory, routes and settings against the schemas and rules',
  help: HELP,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      root: { type: 'string' },
      format: { type: 'string' },
      verbose: { type: 'boolean' },
    });
    const format = oneOf('format', values.format, FORMATS, 'text');
    const root = resolveRoot(values.root, io.cwd);
    const repository = await loadRepository(root);
    const { errors, warnings } = countBySeverity(repository.problems);
    const devices = repository.records.length;
    const valid = errors === 0;
    const routed = repository.records.flatMap((r) =>
      r.route
        ? [{ system_name: r.system_name, file: r.file, route: r.route.name, platform: r.route.platform }]
        : [],
    );
    if (format === 'json') {
      const report = { valid, devices, errors, warnings, problems: repository.problems, routed };
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      if (values.verbose && format === 'text') {
        for (const r of routed) io.stdout(`${r.file}: rule "${r.route}" → platform ${r.platform}\n`);
      }
      const line = format === 'github' ? formatProblemGithub : formatProblemText;
      for (const problem of repository.problems) io.stdout(`${line(problem)}\n`);
      io.stdout(`${summaryLine(repository.problems, devices, errors, warnings)}\n`);
    }
    return valid ? EXIT_OK : EXIT_FINDINGS;
  },
};

function summaryLine(problems: Problem[], devices: number, errors: number, warnings: number): string {
  const files = new Set(problems.filter((p) => p.severity === 'error').map((p) => p.file)).size;
  const checked = `${devices} device file${devices === 1 ? '' : 's'} checked`;
  if (errors === 0)
    return `valid: ${checked}${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}`;
  return `invalid: ${errors} error${errors === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''} (${checked})`;
}
