import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ParseError, parse as parseJsonc, printParseErrorCode } from 'jsonc-parser';
import { Document } from 'yaml';
import { convertOttr, exportItems } from '../../import/ottr.ts';
import { quoteValuesOf, renderDeviceYaml } from '../../model/render-device.ts';
import { compileRoutes } from '../../routing/match.ts';
import { writeFileAtomic } from '../../util/files.ts';
import { parseFlags } from '../args.ts';
import { type Command, EXIT_FINDINGS, EXIT_OK, UsageError } from '../command.ts';

const HELP = `Usage: ottr import-ottr --routes route.json --assets export.json --out DIR [--force]

Converts Airbnb Ottr's data into this repository's files:
  --routes FILE   Ottr's otter/router/src/config/route.json
                  (platform.<host_platform>.os.<os_version>.certificate_authority.<ca> = <task>)
  --assets FILE   the DynamoDB asset table: \`aws dynamodb scan --output json\` ({"Items": [...]}
                  with typed values), an export to S3 (one {"Item": {...}} per line), or a plain
                  JSON array of items
  --out DIR       where to write routing/routes.yaml and inventory/<data_center>/<system_name>.yaml
  --force         overwrite files that already exist (default: refuse, and write nothing)

Mapping:
  - every (platform, os version, authority) of route.json becomes one rule with an exact
    os_version; the task name picks the driver (otter-panos-* → panos, otter-f5-* → f5,
    otter-lighthouse-* → lighthouse, otter-linux-aws-ssm-* → linux-ssm); "PENDING" is skipped
  - subject_alternative_name → subject_alternative_names (the common name and duplicates dropped)
  - certificate_expiration → certificate.not_after (naive times read as UTC); "None" → no
    certificate, so the device is due at the next run
  - names, platforms and authorities are lowercased; certificate_validation "False" is kept
  - connection.credentials gets a default secret NAME per platform: PANOS_API_KEY,
    F5_CREDENTIALS, LIGHTHOUSE_CREDENTIALS, LINUX_SSH_KEY; SSM devices get
    instance_tag {key: Name, value: <system_name>}

Next steps: fill in connection.ssh_host_key for SSH devices, create the secrets, copy
routing/settings.yaml (authorities, DNS, runners) from the sample, run "ottr validate --root DIR"
and "ottr dns-records --root DIR".

Exit codes: 0 everything converted, 1 some items had problems (the good ones are written),
2 usage error (missing flags, unreadable files, files in the way without --force).`;

function readJsonFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * Where JSON.parse failed: Node's own message has no position for many errors, so the first error is found
 * again with jsonc-parser (strict: no comments, no trailing commas), which reports its offset.
 */
function jsonError(file: string, text: string, error: unknown): string {
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return `${file}: invalid JSON: ${(error as Error).message.split('\n')[0]}`;
  const before = text.slice(0, first.offset);
  const line = before.split('\n').length;
  const column = first.offset - before.lastIndexOf('\n');
  return `${file}:${line}:${column}: invalid JSON: ${printParseErrorCode(first.error)}`;
}

export const importOttrCommand: Command = {
  name: 'import-ottr',
  summary: "convert Ottr's route.json and DynamoDB export into routes and device files",
  help: HELP,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      routes: { type: 'string' },
      assets: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
    });
    if (!values.routes || !values.assets || !values.out)
      throw new UsageError('--routes, --assets and --out are required');
    const routesPath = resolve(io.cwd, values.routes);
    const assetsPath = resolve(io.cwd, values.assets);
    const out = resolve(io.cwd, values.out);
    const routesText = readJsonFile(routesPath, 'routes file');
    const assetsText = readJsonFile(assetsPath, 'assets file');
    let routeJson: unknown;
    let items: Record<string, unknown>[];
    try {
      routeJson = JSON.parse(routesText);
    } catch (error) {
      io.stderr(`ottr import-ottr: ${jsonError(values.routes, routesText, error)}\n`);
      return EXIT_FINDINGS;
    }
    try {
      items = exportItems(assetsText);
    } catch (error) {
      io.stderr(`ottr import-ottr: ${jsonError(values.assets, assetsText, error)}\n`);
      return EXIT_FINDINGS;
    }

    const result = convertOttr(routeJson, items, (routes) => {
      const match = compileRoutes(routes);
      return (device) => {
        const r = match(device);
        return r.matched ? r.route.platform : undefined;
      };
    });

    const files = new Map<string, string>();
    const routesDoc = new Document({ routes: result.routes });
    routesDoc.commentBefore =
      " yaml-language-server: $schema=../schemas/routes.schema.json\n Converted from Ottr's route.json by `ottr import-ottr`.";
    quoteValuesOf(routesDoc, new Set(['os_version']));
    files.set('routing/routes.yaml', routesDoc.toString({ lineWidth: 0 }));
    for (const device of result.devices) {
      files.set(
        `inventory/${device.data_center}/${device.system_name}.yaml`,
        renderDeviceYaml(device, { comments: true }),
      );
    }
    const inTheWay = [...files.keys()].filter((path) => existsSync(join(out, path)));
    if (inTheWay.length > 0 && !values.force) {
      throw new UsageError(
        `${inTheWay.length} file(s) already exist in ${values.out} (e.g. ${inTheWay[0]}); nothing was written. Use --force to overwrite.`,
      );
    }
    for (const [path, content] of files) writeFileAtomic(join(out, path), content);

    const perCenter = new Map<string, number>();
    for (const device of result.devices)
      perCenter.set(device.data_center, (perCenter.get(device.data_center) ?? 0) + 1);
    const centers = [...perCenter]
      .sort()
      .map(([dc, n]) => `${dc} ${n}`)
      .join(', ');
    io.stdout(`wrote ${result.routes.length} routing rule(s) to routing/routes.yaml\n`);
    io.stdout(
      `wrote ${result.devices.length} device file(s) of ${items.length} item(s)${centers ? ` (${centers})` : ''}\n`,
    );
    if (result.problems.length > 0) {
      io.stdout(`\n${result.problems.length} problem(s):\n`);
      for (const p of result.problems) io.stdout(`  ${p.item}: ${p.message}\n`);
    }
    io.stdout(
      `\nnext: copy routing/settings.yaml and schemas/ into ${values.out}, then ottr validate --root ${values.out}\n`,
    );
    return result.problems.length > 0 ? EXIT_FINDINGS : EXIT_OK;
  },
};
