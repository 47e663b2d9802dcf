import { createRequire as __ottrCreateRequire } from 'node:module'; import { dirname as __ottrDirname } from 'node:path'; import { fileURLToPath as __ottrFileUrlToPath } from 'node:url'; const require = __ottrCreateRequire(import.meta.url); const __filename = __ottrFileUrlToPath(import.meta.url); const __dirname = __ottrDirname(__filename);
import{DASHBOARD_FILE,filterVocabulary,fleetStatus,renderDashboard,statusJson,statusMarkdown,statusPrometheus,statusText}from"./chunk-HTE7EO2U.mjs";import"./chunk-DN2JRPLQ.mjs";import{writeFileAtomic}from"./chunk-PATX6IFY.mjs";import{parseNow}from"./chunk-LXTJSUQ7.mjs";import"./chunk-K6O4CJ43.mjs";import{resolveRoot}from"./chunk-27XEHK3K.mjs";import{ROUTES_FILE,SETTINGS_FILE,loadRepository}from"./chunk-SKIQOEDE.mjs";import{formatProblemText}from"./chunk-JZFHMUY6.mjs";import{PLATFORMS,parseDuration}from"./chunk-IUOTGP64.mjs";import"./chunk-O7EFJVTC.mjs";import{EXIT_FINDINGS,EXIT_OK,UsageError,oneOf,parseFlags}from"./chunk-PBN7SNBO.mjs";import{didYouMean}from"./chunk-JVT3TPL2.mjs";import"./chunk-FAN7MTKL.mjs";import"./chunk-MT6B37ZR.mjs";import"./chunk-XGHPOX4F.mjs";import{init_define_OTTR_BUILD,init_define_OTTR_COMMAND_DOCS}from"./chunk-RWS3QTEB.mjs";init_define_OTTR_BUILD();init_define_OTTR_COMMAND_DOCS();import{join,resolve}from"node:path";var FORMATS=["text","json","markdown","prometheus","html"],HELP=`Usage: ottr status [--root DIR] [--now ISO] [filters] [--format text|json|markdown|prometheus|html] [--out PATH]

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
  --platform NAME         only this host_platform (panos, linux, \u2026) or platform driver (linux-ssm, \u2026)
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

Exit codes: 0 report made (whatever the devices' states), 1 settings or routes invalid, 2 usage error.`;function wantsColour(env){return env.NO_COLOR?!1:env.FORCE_COLOR&&env.FORCE_COLOR!=="0"?!0:process.stdout.isTTY===!0&&env.TERM!==void 0&&env.TERM!=="dumb"}function render(format,status,colour){switch(format){case"json":return statusJson(status);case"markdown":return statusMarkdown(status);case"prometheus":return statusPrometheus(status);default:return statusText(status,{colour})}}function checkKnown(flag,value,known,what){if(value===void 0||known.has(value))return;let list=[...known].sort().join(", ")||"none";throw new UsageError(`--${flag} "${value}" is not ${what} (known: ${list})${didYouMean(value,known)}`)}function parseFilters(values,vocabulary){let filters={},dataCenter=values["data-center"];checkKnown("data-center",dataCenter,vocabulary.dataCenters,"a data center of the inventory"),dataCenter!==void 0&&(filters.dataCenter=dataCenter);let platform=values.platform?.toLowerCase(),platforms=new Set([...vocabulary.platforms,...PLATFORMS.map(p=>p.name)]);checkKnown("platform",platform,platforms,"a host_platform or platform driver"),platform!==void 0&&(filters.platform=platform),values.due&&(filters.dueOnly=!0);let within=values["expiring-within"];if(within!==void 0){let ms=parseDuration(within);if(ms===void 0)throw new UsageError(`--expiring-within must be a duration like 14d, 36h or P2W (got "${within}")`);filters.expiringWithinMs=ms}let search=values.search;if(search!==void 0){if(search.trim()==="")throw new UsageError("--search needs some text");filters.search=search}return filters}var statusCommand={name:"status",summary:"fleet report: expiry, days left and state of every device; also a dashboard",help:HELP,async run(argv,io){let{values}=parseFlags(argv,{root:{type:"string"},now:{type:"string"},"data-center":{type:"string"},platform:{type:"string"},due:{type:"boolean"},"expiring-within":{type:"string"},search:{type:"string"},format:{type:"string"},out:{type:"string"}}),format=oneOf("format",values.format,FORMATS,"text");if(format==="html"&&values.out===void 0)throw new UsageError("--format html needs --out DIR (the folder to write index.html into)");let now=parseNow(values.now),root=resolveRoot(values.root,io.cwd),repository=await loadRepository(root);if(!repository.settings||!repository.routes){let blocking=repository.problems.filter(p=>p.severity==="error"&&(p.file===SETTINGS_FILE||p.file===ROUTES_FILE));for(let problem of blocking)io.stderr(`${formatProblemText(problem)}
`);return io.stderr(`ottr status: no report: fix routing/settings.yaml and routing/routes.yaml first (ottr validate)
`),EXIT_FINDINGS}let filters=parseFilters(values,filterVocabulary(repository.records)),status=fleetStatus(repository.records,repository.settings,now,filters);if(format==="html"){let file=join(resolve(io.cwd,values.out),DASHBOARD_FILE);return writeFileAtomic(file,renderDashboard(status.rows,{generatedAt:now})),io.stderr(`ottr status: wrote ${file} (${status.rows.length} devices)
`),EXIT_OK}let output=render(format,status,values.out===void 0&&wantsColour(io.env));if(values.out!==void 0){let file=resolve(io.cwd,values.out);writeFileAtomic(file,output),io.stderr(`ottr status: wrote ${file}
`)}else io.stdout(output);return EXIT_OK}};export{statusCommand};
