import { join, resolve } from 'node:path';
import { formatProblemText } from '../../model/problems.ts';
import { PLATFORMS } from '../../platforms/registry.ts';
import { loadRepository, ROUTES_FILE, SETTINGS_FILE } from '../../repository/load.ts';
import { DASHBOARD_FILE, renderDashboard } from '../../status/dashboard.ts';
import { type FleetStatus, filterVocabulary, fleetStatus, type StatusFilters } from '../../status/fleet.ts';
import { statusJson } from '../../status/json.ts';
import { statusMarkdown } from '../../status/markdown.ts';
import { statusPrometheus } from '../../status/prometheus.ts';
import { statusText } from '../../status/text.ts';
import { parseDuration } from '../../util/duration.ts';
import { writeFileAtomic } from '../../util/files.ts';
import { didYouMean } from '../../util/suggest.ts';
import { oneOf, parseFlags } from '../args.ts';
import { parseNow } from '../clock.ts';
import { type CliIO, type Command, EXIT_FINDINGS, EXIT_OK, UsageError } from '../command.ts';
import { resolveRoot } from '../root.ts';

const FORMATS = ['text', 'json', 'markdown', 'prometheus', 'html'] as const;
type Format = (typeof FORMATS)[number];

const HELP = `Usage: ottr status [--root DIR] [--now ISO] [filters] [--format text|json|markdown|prometheus|html] [--out PATH]

The fleet report: every device in the inventory with its certificate's expiry, days left, when it
becomes due (renewal window), its last rotation, its routing rule and its state. Most urgent first.

States:
  expired        the recorded certificate's not_after has passed
  never rotated  no certificate recorded yet (due)
  due            the next scheduled run rotates it; the note says why (ARI window, renew_before)
  expiring       expires within the --expiring-within window (default 14d) but is not due yet
  ok             none of the above
  invalid        the device file has errors: listed with its file and first error (ottr validate)
  no route       no routing rule matches the device

Filters (combine with AND):
  --data-center DC        only this data center
  --platform NAME         only this host_platform (panos, linux, …) or platform driver (linux-ssm, …)
  --due                   only devices the next run rotates: expired, never rotated, due
  --expiring-within DUR   only certificates expiring within DUR (14d, 36h, P2W; expired ones too);
                          also sets the window of the "expiring" state
  --search TEXT           case-insensitive text in system_name, common_name, a SAN, owner or a label value

Formats (--format):
  text        aligned table (default). On a terminal expired rows are red and due or expiring ones
              yellow (NO_COLOR turns colour off, FORCE_COLOR on); rows are also marked in the first
              column: ! expired, ~ due, never rotated or expiring, ? invalid or no route.
              A line of counts by state ends the report.
  json        {generated_at, expiring_within, inventory_devices, counts, devices[]}; ISO dates,
              days_left a number (negative once expired).
  markdown    counts, the device table and a Mermaid gantt of the soonest 40 expiries.
  prometheus  textfile-collector metrics: ottr_certificate_expiry_timestamp_seconds,
              ottr_certificate_renewal_window_start_timestamp_seconds,
              ottr_certificate_last_rotation_timestamp_seconds, ottr_certificate_due and
              ottr_device_state per device (labels system_name, data_center, platform, authority,
              route), ottr_devices{state} for the fleet.
  html        a self-contained dashboard (no external assets): counts by state, an expiry
              timeline by data center and platform, a searchable table. Needs --out DIR; writes
              DIR/index.html.

Options:
  --root DIR     repository root (default: current directory)
  --now ISO      report as of this instant (default: now), e.g. 2026-11-23T06:00:00Z
  --out PATH     html: the folder to write index.html into (created when missing); other formats:
                 write the report to this file (atomically) instead of stdout

Examples:
  ottr status --due
  ottr status --data-center ams2 --expiring-within 30d
  ottr status --search app-team@example.com --format json
  ottr status --format prometheus --out /var/lib/node_exporter/textfile/ottr.prom
  ottr status --format html --out site/

Exit codes: 0 report made (whatever the devices' states), 1 settings or routes invalid, 2 usage error.`;

/** ANSI colour for the text table: never with NO_COLOR, always with FORCE_COLOR, else on a terminal. */
function wantsColour(env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return process.stdout.isTTY === true && env.TERM !== undefined && env.TERM !== 'dumb';
}

function render(format: Exclude<Format, 'html'>, status: FleetStatus, colour: boolean): string {
  switch (format) {
    case 'json':
      return statusJson(status);
    case 'markdown':
      return statusMarkdown(status);
    case 'prometheus':
      return statusPrometheus(status);
    default:
      return statusText(status, { colour });
  }
}

function checkKnown(flag: string, value: string | undefined, known: Set<string>, what: string): void {
  if (value === undefined || known.has(value)) return;
  const list = [...known].sort().join(', ') || 'none';
  throw new UsageError(`--${flag} "${value}" is not ${what} (known: ${list})${didYouMean(value, known)}`);
}

function parseFilters(
  values: Record<string, string | boolean | undefined>,
  vocabulary: ReturnType<typeof filterVocabulary>,
): StatusFilters {
  const filters: StatusFilters = {};
  const dataCenter = values['data-center'] as string | undefined;
  checkKnown('data-center', dataCenter, vocabulary.dataCenters, 'a data center of the inventory');
  if (dataCenter !== undefined) filters.dataCenter = dataCenter;

  const platform = (values.platform as string | undefined)?.toLowerCase();
  const platforms = new Set([...vocabulary.platforms, ...PLATFORMS.map((p) => p.name)]);
  checkKnown('platform', platform, platforms, 'a host_platform or platform driver');
  if (platform !== undefined) filters.platform = platform;

  if (values.due) filters.dueOnly = true;
  const within = values['expiring-within'] as string | undefined;
  if (within !== undefined) {
    const ms = parseDuration(within);
    if (ms === undefined)
      throw new UsageError(`--expiring-within must be a duration like 14d, 36h or P2W (got "${within}")`);
    filters.expiringWithinMs = ms;
  }
  const search = values.search as string | undefined;
  if (search !== undefined) {
    if (search.trim() === '') throw new UsageError('--search needs some text');
    filters.search = search;
  }
  return filters;
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'fleet report: expiry, days left and state of every device; also a dashboard',
  help: HELP,
  async run(argv: string[], io: CliIO) {
    const { values } = parseFlags(argv, {
      root: { type: 'string' },
      now: { type: 'string' },
      'data-center': { type: 'string' },
      platform: { type: 'string' },
      due: { type: 'boolean' },
      'expiring-within': { type: 'string' },
      search: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
    });
    const format = oneOf('format', values.format, FORMATS, 'text');
    if (format === 'html' && values.out === undefined)
      throw new UsageError('--format html needs --out DIR (the folder to write index.html into)');
    const now = parseNow(values.now);
    const root = resolveRoot(values.root, io.cwd);
    const repository = await loadRepository(root);

    if (!repository.settings || !repository.routes) {
      const blocking = repository.problems.filter(
        (p) => p.severity === 'error' && (p.file === SETTINGS_FILE || p.file === ROUTES_FILE),
      );
      for (const problem of blocking) io.stderr(`${formatProblemText(problem)}\n`);
      io.stderr(
        'ottr status: no report: fix routing/settings.yaml and routing/routes.yaml first (ottr validate)\n',
      );
      return EXIT_FINDINGS;
    }

    const filters = parseFilters(values, filterVocabulary(repository.records));
    const status = fleetStatus(repository.records, repository.settings, now, filters);

    if (format === 'html') {
      const file = join(resolve(io.cwd, values.out!), DASHBOARD_FILE);
      writeFileAtomic(file, renderDashboard(status.rows, { generatedAt: now }));
      io.stderr(`ottr status: wrote ${file} (${status.rows.length} devices)\n`);
      return EXIT_OK;
    }
    const output = render(format, status, values.out === undefined && wantsColour(io.env));
    if (values.out !== undefined) {
      const file = resolve(io.cwd, values.out);
      writeFileAtomic(file, output);
      io.stderr(`ottr status: wrote ${file}\n`);
    } else {
      io.stdout(output);
    }
    return EXIT_OK;
  },
};
