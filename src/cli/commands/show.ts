import { neededRecords, zoneFileLines } from '../../dns/records.ts';
import { formatProblemText } from '../../model/problems.ts';
import { dueStatus } from '../../plan/due.ts';
import { loadRepository } from '../../repository/load.ts';
import { closest } from '../../util/suggest.ts';
import { oneOf, parseFlags } from '../args.ts';
import { parseNow } from '../clock.ts';
import { type Command, EXIT_FINDINGS, EXIT_OK, UsageError } from '../command.ts';
import { resolveRoot } from '../root.ts';

const FORMATS = ['text', 'json'] as const;

const HELP = `Usage: ottr show <system_name> [--root DIR] [--now ISO] [--format text|json]

Everything about one device: its file, the routing rule and platform driver that rotate it,
whether it is due and why, the certificate on record, the _acme-challenge CNAMEs it needs,
and any problems with its file.

Options:
  --root DIR     repository root (default: current directory)
  --now ISO      judge "due" as of this instant (default: now)
  --format FMT   text (default) or json

Exit codes: 0 shown, 1 the device file has errors, 2 usage error or no such device.`;

export const showCommand: Command = {
  name: 'show',
  summary: 'show one device: route, due status, certificate, DNS records, problems',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      { root: { type: 'string' }, now: { type: 'string' }, format: { type: 'string' } },
      true,
    );
    const format = oneOf('format', values.format, FORMATS, 'text');
    if (positionals.length !== 1) throw new UsageError('give exactly one system_name');
    const name = positionals[0]!;
    const now = parseNow(values.now);
    const repository = await loadRepository(resolveRoot(values.root, io.cwd));
    const record = repository.records.find((r) => r.system_name === name);
    if (!record) {
      const hint = closest(
        name,
        repository.records.map((r) => r.system_name),
      );
      throw new UsageError(`no device "${name}" in inventory/${hint ? ` — did you mean "${hint}"?` : ''}`);
    }
    const problems = repository.problems.filter((p) => p.file === record.file);
    const device = record.device;
    const authority = device ? repository.settings?.authorities[device.certificate_authority] : undefined;
    const status = device ? dueStatus(device, authority, now, false) : undefined;
    const route = record.route ? repository.routes?.[record.route.index] : undefined;
    const records =
      device && repository.settings ? neededRecords([device], repository.settings.dns.delegate_zone) : [];

    if (format === 'json') {
      io.stdout(
        `${JSON.stringify({ system_name: name, file: record.file, device, route, due: status, dns_records: records, problems }, null, 2)}\n`,
      );
    } else {
      const lines = [`${name}  (${record.file})`];
      if (device) {
        const names = [device.common_name, ...(device.subject_alternative_names ?? [])];
        lines.push(`  names:        ${names.join(', ')}`);
        lines.push(
          `  platform:     ${device.host_platform} ${device.os_version}${device.device_model ? ` (${device.device_model})` : ''}`,
        );
        lines.push(`  authority:    ${device.certificate_authority}`);
      }
      if (route && record.route) {
        lines.push(
          `  route:        rule "${route.name}" (#${record.route.index + 1}) → platform ${route.platform}`,
        );
        if (route.options) lines.push(`  options:      ${JSON.stringify(route.options)}`);
      } else if (record.no_route) {
        lines.push(`  route:        none — ${record.no_route}`);
      }
      const cert = device?.certificate;
      if (cert) {
        lines.push(
          `  certificate:  ${cert.not_before ?? '?'} → ${cert.not_after}${cert.serial ? `, serial ${cert.serial}` : ''}`,
        );
        if (cert.issuer) lines.push(`  issuer:       ${cert.issuer}`);
        if (cert.renewal_window)
          lines.push(`  ARI window:   ${cert.renewal_window.start} → ${cert.renewal_window.end}`);
      } else if (device) {
        lines.push('  certificate:  none recorded (never rotated)');
      }
      if (status) lines.push(`  due:          ${status.due ? 'yes' : 'no'} — ${status.reason}`);
      if (records.length > 0) {
        lines.push("  DNS records (create once in each name's zone):");
        for (const line of zoneFileLines(records, 3600)) lines.push(`    ${line}`);
      }
      if (problems.length > 0) {
        lines.push('  problems:');
        for (const p of problems) lines.push(`    ${formatProblemText(p)}`);
      }
      io.stdout(`${lines.join('\n')}\n`);
    }
    return problems.some((p) => p.severity === 'error') ? EXIT_FINDINGS : EXIT_OK;
  },
};
