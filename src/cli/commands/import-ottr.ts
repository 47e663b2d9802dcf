import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Document, isSeq } from 'yaml';
import { convertOttr, JsonSyntaxError, parseAssetExport, parseJson } from '../../import/ottr.ts';
import { quoteValuesOf, renderDeviceYaml } from '../../model/render-device.ts';
import type { Device, Route } from '../../model/types.ts';
import { PLATFORMS } from '../../platforms/registry.ts';
import { parseFlags } from '../args.ts';
import { type CliIO, type Command, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError } from '../command.ts';

const HELP = `Usage: ottr import-ottr --routes route.json --assets export.json [--assets more.json …] --out DIR [--force]

Converts Airbnb Ottr's routing table and asset inventory into this repository's files:
  DIR/routing/routes.yaml                           one rule per route.json entry
  DIR/inventory/<data_center>/<system_name>.yaml    one file per asset

Inputs:
  --routes FILE   Ottr's otter/router/src/config/route.json:
                  platform.<host_platform>.os.<os_version>.certificate_authority.<ca> = <task>,
                  with an optional "model" list; "PENDING" platforms are skipped
  --assets FILE   Ottr's DynamoDB asset table, in any of these shapes (repeat the flag for several files):
                  - aws dynamodb scan --table-name <table> --output json > export.json
                    ({"Items": [...]} with typed values {"S": ...}, {"BOOL": ...}, {"L": [...]}, ...)
                  - an export to S3 in DynamoDB JSON: one {"Item": {...}} per line (.json or .json.gz)
                  - a plain JSON array of items
  --out DIR       where to write (usually a new checkout of your inventory repository)
  --force         overwrite files that already exist; without it, nothing at all is written when any
                  output file exists

Mapping:
  - each (platform, os version, authority) of route.json becomes one rule with that exact os_version
    (Ottr matched exact strings; generalise to patterns like 9.x afterwards if you like); the task name
    picks the driver: otter-panos-* → panos, otter-f5-* → f5, otter-lighthouse-* → lighthouse,
    otter-linux-aws-ssm-* → linux-ssm, other linux/ssh tasks → linux-ssh. Rules keep Ottr's setup:
    panos ssl_tls_profile "otter", f5 target httpd, linux-ssm hooks_dir /opt/otter/hooks
  - system_name, data_center, common_name and names are lowercased (system_name and data_center become
    file and folder names, [a-z0-9][a-z0-9._-]{0,62}); host_platform too (Ubuntu → ubuntu)
  - certificate authority names become snake_case keys (Let's Encrypt → lets_encrypt)
  - subject_alternative_name → subject_alternative_names (the common name and duplicates dropped)
  - certificate_expiration → certificate.not_after as UTC (Ottr's naive times are UTC); "None" → no
    certificate, so the device is due at the first run
  - certificate_validation "True"/"False" → certificate_validation (false kept, true is the default)
  - origin → labels.origin
  - connection.credentials gets a secret NAME per platform (a name, never a value):
      ${PLATFORMS.filter((p) => p.aliases?.defaultCredentials)
        .map((p) => `${p.name} ${p.aliases?.defaultCredentials}`)
        .join(', ')}
    linux-ssm devices get instance_tag {key: Name, value: <first label of system_name>}, as Ottr
    looked them up
  Items missing a required field or holding an invalid value are reported and skipped.

Next steps:
  1. fill in connection.ssh_host_key for every linux-ssh device (take the fingerprint from the host
     itself: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and connection.tls_spki_sha256 for
     devices with certificate_validation: false
  2. create the secrets named in connection.credentials in the "pki" environment (values from Ottr's
     Secrets Manager entries <prefix>/otter/<platform>)
  3. write routing/settings.yaml (authorities, dns, runners) and copy schemas/
  4. run: ottr validate --root DIR   and   ottr dns-records --root DIR

Exit codes: 0 everything converted; 1 some items had problems (the good ones are still written) or a
file is not valid JSON; 2 usage error, unreadable input, or output files in the way without --force.`;

function readInput(io: CliIO, path: string, flag: string): Buffer {
  try {
    return readFileSync(resolve(io.cwd, path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable');
    throw new UsageError(`--${flag} ${path}: ${why}`);
  }
}

/** Text of an input file; a gzip file (an S3 export's data files) is unpacked. */
function decode(bytes: Buffer): string {
  let data: Buffer = bytes;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      data = gunzipSync(bytes);
    } catch (error) {
      throw new Error(`looks gzipped but cannot be unpacked (${(error as Error).message})`);
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new Error('is not UTF-8 text');
  }
}

function describeError(file: string, error: unknown): string {
  if (error instanceof JsonSyntaxError)
    return `${file}:${error.line}:${error.column}: invalid JSON: ${error.detail}`;
  return `${file}: ${(error as Error).message}`;
}

function routesYaml(routes: Route[], sources: string[]): string {
  const doc = new Document({ routes }, { schema: 'core', compat: 'yaml-1.1' });
  doc.commentBefore =
    " yaml-language-server: $schema=../schemas/routes.schema.json\n Converted from Ottr's route.json by `ottr import-ottr`. The first rule that matches a device wins.";
  const seq = doc.getIn(['routes'], true);
  if (isSeq(seq)) {
    seq.items.forEach((node, i) => {
      if (sources[i] && node && typeof node === 'object') {
        (node as { commentBefore?: string }).commentBefore = ` from ${sources[i]}`;
      }
    });
  }
  quoteValuesOf(doc, new Set(['os_version']));
  return doc.toString({ lineWidth: 0 });
}

/**
 * Writes every file or none: all contents go to temporary files beside their targets first, and only when
 * all of them are written are they renamed into place.
 */
function writeAll(root: string, files: ReadonlyMap<string, string>): void {
  const staged: { temporary: string; target: string }[] = [];
  const createdDirs: string[] = [];
  const suffix = `.import-${process.pid}-${Date.now().toString(36)}.tmp`;
  try {
    for (const [path, content] of files) {
      const target = join(root, path);
      const made = mkdirSync(dirname(target), { recursive: true });
      if (made) createdDirs.push(made);
      const temporary = `${target}${suffix}`;
      writeFileSync(temporary, content, { flag: 'wx' });
      staged.push({ temporary, target });
    }
  } catch (error) {
    for (const { temporary } of staged) rmSync(temporary, { force: true });
    for (const dir of createdDirs.reverse()) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  for (const { temporary, target } of staged) renameSync(temporary, target);
}

export const importOttrCommand: Command = {
  name: 'import-ottr',
  summary: "convert Ottr's route.json and DynamoDB asset export into routes and device files",
  help: HELP,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      routes: { type: 'string' },
      assets: { type: 'string', multiple: true },
      out: { type: 'string' },
      force: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout(`${HELP}\n`);
      return EXIT_OK;
    }
    const missing = (['routes', 'assets', 'out'] as const).filter(
      (flag) => values[flag] === undefined || values[flag]?.length === 0,
    );
    if (missing.length > 0) {
      throw new UsageError(
        `missing ${missing.map((f) => `--${f}`).join(', ')} (--routes, --assets and --out are required)`,
      );
    }
    const routesFile = values.routes!;
    const assetFiles = values.assets!;
    const outArg = values.out!;
    const out = resolve(io.cwd, outArg);
    if (existsSync(out) && !statSync(out).isDirectory())
      throw new UsageError(`--out ${outArg} is not a directory`);

    const routesBytes = readInput(io, routesFile, 'routes');
    const assetBytes = assetFiles.map((file) => readInput(io, file, 'assets'));
    let routeJson: unknown;
    const items: unknown[] = [];
    try {
      routeJson = parseJson(decode(routesBytes));
    } catch (error) {
      io.stderr(`ottr import-ottr: ${describeError(routesFile, error)}\n`);
      return EXIT_FINDINGS;
    }
    for (const [i, file] of assetFiles.entries()) {
      try {
        items.push(...parseAssetExport(decode(assetBytes[i]!)));
      } catch (error) {
        io.stderr(`ottr import-ottr: ${describeError(file, error)}\n`);
        return EXIT_FINDINGS;
      }
    }

    const result = convertOttr(routeJson, items);
    const files = new Map<string, string>();
    if (result.routes.length > 0)
      files.set('routing/routes.yaml', routesYaml(result.routes, result.routeSources));
    for (const device of result.devices) {
      files.set(
        `inventory/${device.data_center}/${device.system_name}.yaml`,
        renderDeviceYaml(device, { comments: true }),
      );
    }

    const inTheWay = [...files.keys()].filter((path) => existsSync(join(out, path)));
    if (inTheWay.length > 0 && !values.force) {
      const shown = inTheWay.slice(0, 5).map((path) => `  ${path}\n`);
      const more = inTheWay.length > 5 ? `  … and ${inTheWay.length - 5} more\n` : '';
      io.stderr(
        `ottr import-ottr: ${inTheWay.length} output file(s) already exist in ${outArg}; nothing was written. Use --force to overwrite them:\n${shown.join('')}${more}`,
      );
      return EXIT_USAGE;
    }
    try {
      writeAll(out, files);
    } catch (error) {
      io.stderr(
        `ottr import-ottr: cannot write to ${outArg}: ${(error as Error).message}; nothing was written\n`,
      );
      return EXIT_FINDINGS;
    }

    const perCenter = new Map<string, number>();
    for (const device of result.devices)
      perCenter.set(device.data_center, (perCenter.get(device.data_center) ?? 0) + 1);
    const lines: string[] = [];
    lines.push(
      result.routes.length > 0
        ? `routing/routes.yaml: ${result.routes.length} rule(s)`
        : 'routing/routes.yaml: not written (no rule converted)',
    );
    lines.push(`inventory: ${result.devices.length} device file(s) from ${items.length} item(s)`);
    for (const [center, count] of [...perCenter].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`  inventory/${center}/: ${count}`);
    }
    if (inTheWay.length > 0) lines.push(`overwrote ${inTheWay.length} existing file(s) (--force)`);
    for (const note of result.notes) lines.push(`note: ${note}`);
    io.stdout(`${lines.join('\n')}\n`);
    if (result.problems.length > 0) {
      io.stderr(`\n${result.problems.length} problem(s):\n`);
      for (const p of result.problems) io.stderr(`  ${p.item}: ${p.message}\n`);
    }
    io.stdout(`\n${boundaryProposal(result.devices).join('\n')}\n`);
    io.stdout(
      `\nnext: fill in what the problems name, create the secrets, write routing/settings.yaml, then run\n  ottr validate --root ${outArg}\n`,
    );
    return result.problems.length > 0 ? EXIT_FINDINGS : EXIT_OK;
  },
};

/**
 * The trust-boundary blocks routing/settings.yaml needs for the imported fleet: every credential name bound to
 * the data centers that use it, and per data center the parent domains of its names. A proposal to review, not to
 * paste blindly: narrower suffixes are safer.
 */
export function boundaryProposal(devices: readonly Device[]): string[] {
  const credentials = new Map<string, Set<string>>();
  const suffixes = new Map<string, Set<string>>();
  const tagKeys = new Map<string, Set<string>>();
  for (const device of devices) {
    const tag = device.connection?.instance_tag;
    if (tag) tagKeys.set(device.data_center, (tagKeys.get(device.data_center) ?? new Set()).add(tag.key));
    const name = device.connection?.credentials;
    if (name) credentials.set(name, (credentials.get(name) ?? new Set()).add(device.data_center));
    const set = suffixes.get(device.data_center) ?? new Set<string>();
    for (const n of [device.common_name, ...(device.subject_alternative_names ?? [])]) {
      const base = n.replace(/^\*\./, '');
      set.add(base.includes('.') && base.split('.').length > 2 ? base.slice(base.indexOf('.') + 1) : base);
    }
    suffixes.set(device.data_center, set);
  }
  const sorted = (s: Iterable<string>) => [...s].sort();
  return [
    'routing/settings.yaml must declare the secrets and names the imported devices use (review before adding):',
    'secrets:',
    ...sorted(credentials.keys()).map(
      (n) =>
        `  ${n}: { purpose: device_credential, data_centers: [${sorted(credentials.get(n)!).join(', ')}] }`,
    ),
    'names:',
    ...sorted(suffixes.keys()).map(
      (dc) => `  ${dc}: { suffixes: [${sorted(suffixes.get(dc)!).join(', ')}] }`,
    ),
    ...(tagKeys.size > 0
      ? [
          'ssm:',
          '  instance_tags:',
          ...sorted(tagKeys.keys()).map(
            (dc) =>
              `    ${dc}: [${sorted(tagKeys.get(dc)!)
                .map((k) => `{ key: ${JSON.stringify(k)} }`)
                .join(', ')}]`,
          ),
        ]
      : []),
  ];
}
