import { neededRecords, zoneFileLines } from '../../dns/records.ts';
import { loadRepository } from '../../repository/load.ts';
import { oneOf, parseFlags } from '../args.ts';
import { parseDeviceList } from '../clock.ts';
import { type Command, EXIT_FINDINGS, EXIT_OK, UsageError } from '../command.ts';
import { resolveRoot } from '../root.ts';

const FORMATS = ['zone', 'json'] as const;

const HELP = `Usage: ottr dns-records [--root DIR] [--devices a,b] [--ttl SECONDS] [--format zone|json]

Prints every _acme-challenge CNAME the inventory needs, in zone-file form. Create them once,
in each name's own zone, when a device is onboarded:

  _acme-challenge.<name>. CNAME <name>.<delegate_zone>.

A wildcard *.example.com is validated at _acme-challenge.example.com. Rotation writes TXT
records in the delegate zone (dns.delegate_zone in routing/settings.yaml) only, so the
organisation's zones never need to be writable by automation. Names whose target would pass
253 characters get a hashed label instead.

Options:
  --root DIR       repository root (default: current directory)
  --devices LIST   only these system names
  --ttl SECONDS    TTL written in the records (default 3600)
  --format FMT     zone (default) or json ([{name, target, devices[]}])

Devices with errors are left out; run ottr validate to see why.`;

export const dnsRecordsCommand: Command = {
  name: 'dns-records',
  summary: 'print the _acme-challenge CNAMEs the inventory needs (zone-file form)',
  help: HELP,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      root: { type: 'string' },
      devices: { type: 'string' },
      ttl: { type: 'string' },
      format: { type: 'string' },
    });
    const format = oneOf('format', values.format, FORMATS, 'zone');
    const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 2_147_483_647)
      throw new UsageError('--ttl must be a whole number of seconds');
    const only = parseDeviceList(values.devices);
    const repository = await loadRepository(resolveRoot(values.root, io.cwd));
    if (!repository.settings) {
      io.stderr('ottr dns-records: routing/settings.yaml is missing or invalid (ottr validate shows why)\n');
      return EXIT_FINDINGS;
    }
    const known = new Set(repository.records.map((r) => r.system_name));
    const unknown = (only ?? []).filter((name) => !known.has(name));
    if (unknown.length > 0) throw new UsageError(`no such device: ${unknown.join(', ')}`);
    const devices = repository.records
      .filter((r) => r.device && (!only || only.includes(r.system_name)))
      .map((r) => r.device!);
    const records = neededRecords(devices, repository.settings.dns.delegate_zone);
    if (format === 'json') {
      io.stdout(`${JSON.stringify(records, null, 2)}\n`);
    } else {
      io.stdout(
        `; _acme-challenge CNAMEs for ${devices.length} device(s); delegate zone ${repository.settings.dns.delegate_zone}\n`,
      );
      for (const line of zoneFileLines(records, ttl)) io.stdout(`${line}\n`);
    }
    const skipped = repository.records.filter(
      (r) => !r.device && (!only || only.includes(r.system_name)),
    ).length;
    if (skipped > 0)
      io.stderr(`ottr dns-records: ${skipped} device(s) with errors left out (ottr validate)\n`);
    return EXIT_OK;
  },
};
