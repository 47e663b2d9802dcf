import { type NeededRecord, neededRecords, zoneFileLines } from '../../dns/records.ts';
import { type CheckedRecord, checkNeededRecords, isResolverAddress } from '../../dns/records-check.ts';
import { resolverFor } from '../../dns/resolver.ts';
import { loadRepository } from '../../repository/load.ts';
import { oneOf, parseFlags } from '../args.ts';
import { parseDeviceList } from '../clock.ts';
import { type CliIO, type Command, EXIT_FINDINGS, EXIT_OK, UsageError } from '../command.ts';
import { resolveRoot } from '../root.ts';

const FORMATS = ['zone', 'json'] as const;

const HELP = `Usage: ottr dns-records [--root DIR] [--devices a,b] [--ttl SECONDS] [--format zone|json]
                         [--check [--resolver IP[:PORT]]]

Prints every _acme-challenge CNAME the inventory needs, in zone-file form. Create them once,
in each name's own zone, when a device is onboarded:

  _acme-challenge.<name>. CNAME <name>.<delegate_zone>.

A wildcard *.example.com is validated at _acme-challenge.example.com. Rotation writes TXT
records in the delegate zone (dns.delegate_zone in routing/settings.yaml) only, so the
organisation's zones never need to be writable by automation. Names whose target would pass
253 characters get a hashed label instead.

With --check, every one of those CNAMEs is looked up (through the system's resolvers, or the
--resolver given) and only the missing or wrong ones are printed, as the records to create;
the exit status is 1 when any is missing, wrong or could not be checked, 0 when all are in
place. A resolver that caches may answer with an old view for up to the records' TTL.

Options:
  --root DIR       repository root (default: current directory)
  --devices LIST   only these system names
  --ttl SECONDS    TTL written in the records (default 3600)
  --format FMT     zone (default) or json ([{name, target, devices[]}]; with --check also
                   state: in_place|missing|wrong|unchecked, found, error)
  --check          look the CNAMEs up and list the missing or wrong ones (exit 1 if any)
  --resolver ADDR  with --check: ask this server (IP, IP:PORT or [IPv6]:PORT; repeatable)
                   instead of the system's resolvers

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
      check: { type: 'boolean' },
      resolver: { type: 'string', multiple: true },
    });
    const format = oneOf('format', values.format, FORMATS, 'zone');
    const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 2_147_483_647)
      throw new UsageError('--ttl must be a whole number of seconds');
    const servers = (values.resolver ?? []).flatMap((r) => r.split(',')).map((r) => r.trim());
    if (servers.length > 0 && !values.check) throw new UsageError('--resolver is used only with --check');
    const badServer = servers.find((r) => !isResolverAddress(r));
    if (badServer !== undefined)
      throw new UsageError(`--resolver takes an IP address (IP, IP:PORT, [IPv6]:PORT), not "${badServer}"`);
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
    const skipped = repository.records.filter(
      (r) => !r.device && (!only || only.includes(r.system_name)),
    ).length;
    if (skipped > 0)
      io.stderr(`ottr dns-records: ${skipped} device(s) with errors left out (ottr validate)\n`);
    if (values.check) {
      const checked = await checkNeededRecords(
        records,
        resolverFor(servers.length > 0 ? servers : undefined, 2000),
      );
      printCheck(
        checked,
        { format, ttl, via: servers.length > 0 ? servers.join(', ') : "the system's resolvers" },
        io,
      );
      return checked.every((r) => r.state === 'in_place') ? EXIT_OK : EXIT_FINDINGS;
    }
    if (format === 'json') {
      io.stdout(`${JSON.stringify(records, null, 2)}\n`);
    } else {
      io.stdout(
        `; _acme-challenge CNAMEs for ${devices.length} device(s); delegate zone ${repository.settings.dns.delegate_zone}\n`,
      );
      for (const line of zoneFileLines(records, ttl)) io.stdout(`${line}\n`);
    }
    return EXIT_OK;
  },
};

/** The --check report: the records to create (zone-file lines saying why), then the names that could not be asked. */
function printCheck(
  checked: readonly CheckedRecord[],
  options: { format: 'zone' | 'json'; ttl: number; via: string },
  io: CliIO,
): void {
  if (options.format === 'json') {
    io.stdout(`${JSON.stringify(checked, null, 2)}\n`);
    return;
  }
  const toCreate = checked.filter((r) => r.state === 'missing' || r.state === 'wrong');
  const unchecked = checked.filter((r) => r.state === 'unchecked');
  const inPlace = checked.length - toCreate.length - unchecked.length;
  io.stdout(
    `; ${checked.length} _acme-challenge CNAME(s) looked up through ${options.via}: ${inPlace} in place, ` +
      `${checked.filter((r) => r.state === 'missing').length} missing, ` +
      `${checked.filter((r) => r.state === 'wrong').length} wrong, ${unchecked.length} not checked\n`,
  );
  if (toCreate.length > 0) {
    io.stdout("; create these in each name's own zone (replace a wrong one):\n");
    const why = (r: CheckedRecord) =>
      r.state === 'wrong' ? `now CNAME ${r.found ?? '(not a CNAME)'}.` : 'missing';
    const annotated: NeededRecord[] = toCreate.map((r) => ({ ...r, devices: [why(r), ...r.devices] }));
    for (const line of zoneFileLines(annotated, options.ttl)) io.stdout(`${line}\n`);
  }
  for (const r of unchecked)
    io.stdout(`; not checked: ${r.name}. (${r.error}); ask again or pass --resolver\n`);
}
