import { createRequire as __ottrCreateRequire } from 'node:module'; import { dirname as __ottrDirname } from 'node:path'; import { fileURLToPath as __ottrFileUrlToPath } from 'node:url'; const require = __ottrCreateRequire(import.meta.url); const __filename = __ottrFileUrlToPath(import.meta.url); const __dirname = __ottrDirname(__filename);
var __create=Object.create;var __defProp=Object.defineProperty;var __getOwnPropDesc=Object.getOwnPropertyDescriptor;var __getOwnPropNames=Object.getOwnPropertyNames;var __getProtoOf=Object.getPrototypeOf,__hasOwnProp=Object.prototype.hasOwnProperty;var __require=(x=>typeof require<"u"?require:typeof Proxy<"u"?new Proxy(x,{get:(a,b)=>(typeof require<"u"?require:a)[b]}):x)(function(x){if(typeof require<"u")return require.apply(this,arguments);throw Error('Dynamic require of "'+x+'" is not supported')});var __esm=(fn,res,err)=>function(){if(err)throw err[0];try{return fn&&(res=(0,fn[__getOwnPropNames(fn)[0]])(fn=0)),res}catch(e){throw err=[e],e}};var __commonJS=(cb,mod)=>function(){try{return mod||(0,cb[__getOwnPropNames(cb)[0]])((mod={exports:{}}).exports,mod),mod.exports}catch(e){throw mod=0,e}};var __export=(target,all)=>{for(var name in all)__defProp(target,name,{get:all[name],enumerable:!0})},__copyProps=(to,from,except,desc)=>{if(from&&typeof from=="object"||typeof from=="function")for(let key of __getOwnPropNames(from))!__hasOwnProp.call(to,key)&&key!==except&&__defProp(to,key,{get:()=>from[key],enumerable:!(desc=__getOwnPropDesc(from,key))||desc.enumerable});return to};var __toESM=(mod,isNodeMode,target)=>(target=mod!=null?__create(__getProtoOf(mod)):{},__copyProps(isNodeMode||!mod||!mod.__esModule?__defProp(target,"default",{value:mod,enumerable:!0}):target,mod)),__toCommonJS=mod=>__copyProps(__defProp({},"__esModule",{value:!0}),mod);var define_OTTR_BUILD_default,init_define_OTTR_BUILD=__esm({"<define:__OTTR_BUILD__>"(){define_OTTR_BUILD_default={version:"0.1.0",bundle:"ad2f78944de88822"}}});var define_OTTR_COMMAND_DOCS_default,init_define_OTTR_COMMAND_DOCS=__esm({"<define:__OTTR_COMMAND_DOCS__>"(){define_OTTR_COMMAND_DOCS_default={validate:{help:`Usage: ottr validate [--root DIR] [--format text|json|github]

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
                  github: workflow annotations (::error file=\u2026,line=\u2026,col=\u2026::\u2026) for pull requests
  --verbose       text format: also print the routing rule and platform of every device

Exit codes: 0 valid (warnings allowed), 1 errors found, 2 usage error.`,options:[{name:"format",takesValue:!0,short:"o"},{name:"help",takesValue:!1,short:"h"},{name:"root",takesValue:!0},{name:"verbose",takesValue:!1}],subcommands:[]},plan:{help:`Usage: ottr plan [--root DIR] [--now ISO] [--devices a,b] [--force] [--format text|json|github] [--out FILE]

Decides which devices are due for a new certificate and builds the job matrix.

A device is due when
  - it has no certificate recorded (never rotated), or its certificate has expired;
  - an ARI renewal window is recorded (certificate.renewal_window) and it has started;
  - otherwise, when less than the authority's renew_before is left: a fraction of the
    recorded lifetime (default 1/3, so a 90-day certificate renews with 30 days left and a
    6-day one with 2) or a fixed duration such as 10d. No lifetime is assumed.
Due devices are ordered most urgent first (earliest expiry) and held to each authority's
rate_limits: orders_per_3h per run, certificates_per_domain_per_week per registered domain
(public-suffix aware, counting certificates rotated in the last 7 days). The rest are deferred
with the reason. Invalid devices and devices no routing rule matches are skipped and reported;
they never stop the rest of the plan. More due devices than limits.max_jobs become shards.

Options:
  --root DIR        repository root (default: current directory)
  --now ISO         plan as of this instant (default: now), e.g. 2026-11-23T06:00:00Z
  --devices LIST    only these system names (comma or space separated)
  --force           treat the selected devices as due (manual rotation)
  --format FMT      text (default), json (the plan), or github (annotations for skipped devices,
                    and the job summary with a due table and an expiry gantt appended to
                    $GITHUB_STEP_SUMMARY)
  --out FILE        also write the plan JSON to FILE
  --verbose         text format: list devices that are not due too

The plan JSON: {version, now, due[], deferred[], skipped[], matrix: {include[]}, max_parallel,
counts, shards?, errors[]}. Matrix entries: {id, devices[], data_center, runs_on[]}.

Exit codes: 0 plan made (even with skipped devices), 1 settings or routes invalid, 2 usage error
(including --devices names that do not exist).`,options:[{name:"devices",takesValue:!0},{name:"force",takesValue:!1},{name:"format",takesValue:!0,short:"o"},{name:"help",takesValue:!1,short:"h"},{name:"now",takesValue:!0},{name:"out",takesValue:!0},{name:"root",takesValue:!0},{name:"verbose",takesValue:!1}],subcommands:[]},rotate:{help:`Usage: ottr rotate --device NAME (--secrets-file FILE | --secrets-env-prefix PREFIX) [options]
       ottr rotate --shard FILE   (--secrets-file FILE | --secrets-env-prefix PREFIX) [options]

Rotates devices through precheck \u2192 csr \u2192 order \u2192 install \u2192 verify \u2192 cleanup (rollback on an
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
rolled back, 2 usage error.`,options:[{name:"device",takesValue:!0},{name:"dry-run",takesValue:!1},{name:"help",takesValue:!1,short:"h"},{name:"results",takesValue:!0},{name:"root",takesValue:!0},{name:"secrets-env-prefix",takesValue:!0},{name:"secrets-file",takesValue:!0},{name:"shard",takesValue:!0},{name:"staging",takesValue:!1}],subcommands:[]},"apply-results":{help:`Usage: ottr apply-results DIR [--root DIR]

Writes each rotated device's new certificate (and ARI window) into its device file: the
certificate: block is replaced, or appended when the device had none, and every other byte of
the file stays as it was (comments, order, quoting). Failed and rolled-back devices are left
untouched; results for devices no longer in the inventory are skipped with a note. Applying
the same results twice changes nothing.

DIR holds the result files of a run (<system_name>.json, as ottr rotate writes them; nested
folders, as downloaded artifacts are, are searched too).

Exit codes: 0 applied (or nothing to do), 1 a result or device file could not be read, 2 usage.`,options:[{name:"help",takesValue:!1,short:"h"},{name:"root",takesValue:!0}],subcommands:[]},show:{help:`Usage: ottr show <system_name> [--root DIR] [--now ISO] [--format text|json]

Everything about one device: its file, the routing rule and platform driver that rotate it,
whether it is due and why, the certificate on record, the _acme-challenge CNAMEs it needs,
and any problems with its file.

Options:
  --root DIR     repository root (default: current directory)
  --now ISO      judge "due" as of this instant (default: now)
  --format FMT   text (default) or json

Exit codes: 0 shown, 1 the device file has errors, 2 usage error or no such device.`,options:[{name:"format",takesValue:!0,short:"o"},{name:"help",takesValue:!1,short:"h"},{name:"now",takesValue:!0},{name:"root",takesValue:!0}],subcommands:[]},status:{help:`Usage: ottr status [--root DIR] [--now ISO] [filters] [--format text|json|markdown|prometheus|html] [--out PATH]

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

Exit codes: 0 report made (whatever the devices' states), 1 settings or routes invalid, 2 usage error.`,options:[{name:"data-center",takesValue:!0},{name:"due",takesValue:!1},{name:"expiring-within",takesValue:!0},{name:"format",takesValue:!0,short:"o"},{name:"help",takesValue:!1,short:"h"},{name:"now",takesValue:!0},{name:"out",takesValue:!0},{name:"platform",takesValue:!0},{name:"root",takesValue:!0},{name:"search",takesValue:!0}],subcommands:[]},"dns-records":{help:`Usage: ottr dns-records [--root DIR] [--devices a,b] [--ttl SECONDS] [--format zone|json]
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

Devices with errors are left out; run ottr validate to see why.`,options:[{name:"check",takesValue:!1},{name:"devices",takesValue:!0},{name:"format",takesValue:!0,short:"o"},{name:"help",takesValue:!1,short:"h"},{name:"resolver",takesValue:!0},{name:"root",takesValue:!0},{name:"ttl",takesValue:!0}],subcommands:[]},secrets:{help:`Usage: ottr secrets [--root DIR] [--format text|json]
                    [--secrets-file FILE | --secrets-env-prefix PREFIX | --present NAMES]

Prints, per GitHub environment, every secret name the repository needs there:
  pki-<data_center>  the rotate jobs of that data center: its devices' credentials and their
                     authorities' account keys (and EAB values)
  pki-report         the report job: Slack, the event webhook, the GitHub App key; never a
                     device credential
  pki-sync           the discovery job (sync.yml): the GitHub App key only
Each rotate job is given only the secrets of its own devices (the plan names them per matrix
entry, at most 8); an environment holds at most 100 secrets of at most 48 KB each.

Give the values, or just the names you have, to see which are missing (values are never printed):
  --secrets-file FILE          a JSON file {"NAME": "value", ...}
  --secrets-env-prefix PREFIX  environment variables PREFIX<NAME>
  --present NAMES              names that exist, comma separated (e.g. from
                               gh secret list --env pki-sfo1 --json name -q '.[].name')
The check is per environment only with --present ENV=NAME,... pairs, e.g.
  --present pki-sfo1=PANOS_SFO1_API_KEY,LE_ACCOUNT_KEY --present pki-report=SLACK_WEBHOOK_URL

Exit codes: 0 nothing missing (or nothing given to check), 1 a secret is missing or undeclared,
or the repository is invalid, 2 usage error.`,options:[{name:"format",takesValue:!0,short:"o"},{name:"help",takesValue:!1,short:"h"},{name:"present",takesValue:!0},{name:"root",takesValue:!0},{name:"secrets-env-prefix",takesValue:!0},{name:"secrets-file",takesValue:!0}],subcommands:[]},"check-workflows":{help:`Usage: ottr check-workflows [--root DIR] [--dir PATH] [--format text|json|github]

Checks the GitHub Actions workflows (.github/workflows/*.yml, *.yaml) against the hardening
rules a rotation pipeline with access to device credentials must keep:
  - no pull_request_target trigger (it runs with secrets on code from forks)
  - top-level permissions present and read-only ({} or read); write access granted per job
  - every action from another repository pinned to a full 40-character commit SHA
  - no \${{ }} expression inside run: (pass values through env: instead)
  - a workflow that uses ./actions/rotate has concurrency and never cancels a rotation
Each finding names the file, line and field.

Options:
  --root DIR     repository root (default: current directory)
  --dir PATH     the workflow folder, relative to the root (default .github/workflows)
  --format FMT   text (default), json, or github (annotations)

Exit codes: 0 all rules kept, 1 findings, 2 usage error.`,options:[{name:"dir",takesValue:!0},{name:"format",takesValue:!0,short:"o"},{name:"help",takesValue:!1,short:"h"},{name:"root",takesValue:!0}],subcommands:[]},"import-ottr":{help:`Usage: ottr import-ottr --routes route.json --assets export.json [--assets more.json \u2026] --out DIR [--force]

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
    picks the driver: otter-panos-* \u2192 panos, otter-f5-* \u2192 f5, otter-lighthouse-* \u2192 lighthouse,
    otter-linux-aws-ssm-* \u2192 linux-ssm, other linux/ssh tasks \u2192 linux-ssh. Rules keep Ottr's setup:
    panos ssl_tls_profile "otter", f5 target httpd, linux-ssm hooks_dir /opt/otter/hooks
  - system_name, data_center, common_name and names are lowercased (system_name and data_center become
    file and folder names, [a-z0-9][a-z0-9._-]{0,62}); host_platform too (Ubuntu \u2192 ubuntu)
  - certificate authority names become snake_case keys (Let's Encrypt \u2192 lets_encrypt)
  - subject_alternative_name \u2192 subject_alternative_names (the common name and duplicates dropped)
  - certificate_expiration \u2192 certificate.not_after as UTC (Ottr's naive times are UTC); "None" \u2192 no
    certificate, so the device is due at the first run
  - certificate_validation "True"/"False" \u2192 certificate_validation (false kept, true is the default)
  - origin \u2192 labels.origin
  - connection.credentials gets a secret NAME per platform (a name, never a value):
      panos PANOS_API_KEY, f5 F5_CREDENTIALS, lighthouse LIGHTHOUSE_CREDENTIALS, linux-ssh LINUX_SSH_KEY
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
file is not valid JSON; 2 usage error, unreadable input, or output files in the way without --force.`,options:[{name:"assets",takesValue:!0},{name:"force",takesValue:!1},{name:"help",takesValue:!1,short:"h"},{name:"out",takesValue:!0},{name:"routes",takesValue:!0}],subcommands:[]},onboard:{help:`Usage: ottr onboard [--root DIR] [field flags\u2026] [--yes] [--force]

Writes a new device file, inventory/<data_center>/<system_name>.yaml, with the schema line
and short comments, after checking it in the context of the whole repository (schemas,
settings, routing rules, unique system_name). On errors nothing is written. Then prints
the _acme-challenge CNAMEs to create, how to read the pins the device needs, and the next
step (a pull request).

Fields:
  --system-name TEXT                   unique id, also the file name
  --common-name TEXT                   the DNS name the certificate is for
  --san NAMES                          more names (repeat the flag or use a comma list)
  --host-platform TEXT                 panos, f5, lighthouse, linux, \u2026
  --os-version TEXT                    e.g. 10.2.4
  --device-model TEXT                  e.g. PA-3220, ec2
  --data-center TEXT                   picks the runners; the folder name
  --ip-address TEXT                    where to connect (else common_name)
  --certificate-authority TEXT         a key of authorities in settings
  --certificate-validation true|false  false: pin the management key instead
  --credentials TEXT                   the NAME of the secret
  --passphrase-credentials TEXT        linux-ssh: NAME of the key passphrase secret
  --port PORT                          management port (HTTPS API or SSH)
  --tls-port PORT                      where the certificate is served
  --username TEXT                      login user
  --ssh-host-key TEXT                  linux-ssh: SHA256:\u2026 host key fingerprint
  --tls-spki-sha256 TEXT               pin of the management TLS key
  --sudo                               linux: run the file steps with sudo
  --instance-id TEXT                   linux-ssm: i-\u2026 or mi-\u2026
  --instance-tag KEY=VALUE             linux-ssm: KEY=VALUE of a tag instead of an id
  --region TEXT                        linux-ssm: AWS region
  --owner TEXT                         team, person or e-mail
  --label KEY=VALUE                    KEY=VALUE (repeatable)

Every flag's value is checked before anything is asked (a bad one is a usage error naming
the flag). On a terminal, missing required fields are asked for, with the values the
repository knows as choices (data centers, platforms, and only the authorities whose key
policy the device's platform can meet), then ip_address, then the connection fields the
matching routing rule needs (credentials, ssh_host_key for linux-ssh, instance_id for
linux-ssm, tls_spki_sha256 when certificate_validation is false). Each answer is checked
as it is given, and a field the finished file still fails on is asked again. Without a
terminal, or with --yes, nothing is asked: a missing field is a usage error naming its flag.

Options:
  --root DIR   repository root (default: current directory)
  --yes        never ask
  --force      overwrite the device's file when it exists

Exit codes: 0 written; 1 the file exists (without --force) or the device does not validate
(nothing written); 2 usage error (a missing field without a terminal, a flag whose value is
malformed or does not validate).`,options:[{name:"certificate-authority",takesValue:!0},{name:"certificate-validation",takesValue:!0},{name:"common-name",takesValue:!0},{name:"credentials",takesValue:!0},{name:"data-center",takesValue:!0},{name:"device-model",takesValue:!0},{name:"force",takesValue:!1},{name:"help",takesValue:!1,short:"h"},{name:"host-platform",takesValue:!0},{name:"instance-id",takesValue:!0},{name:"instance-tag",takesValue:!0},{name:"ip-address",takesValue:!0},{name:"label",takesValue:!0},{name:"os-version",takesValue:!0},{name:"owner",takesValue:!0},{name:"passphrase-credentials",takesValue:!0},{name:"port",takesValue:!0},{name:"region",takesValue:!0},{name:"root",takesValue:!0},{name:"san",takesValue:!0},{name:"ssh-host-key",takesValue:!0},{name:"sudo",takesValue:!1},{name:"system-name",takesValue:!0},{name:"tls-port",takesValue:!0},{name:"tls-spki-sha256",takesValue:!0},{name:"username",takesValue:!0},{name:"yes",takesValue:!1}],subcommands:[]},sync:{help:`Usage: ottr sync aws-ssm [--region R] [--tag-prefix ottr:] [--write | --out DIR] [--format text|json]
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
  system_name                system_name, hostname, host, name, device, device_name
  common_name                common_name, fqdn, dns_name, cn
  subject_alternative_names  subject_alternative_names, subject_alternative_name, san, sans, aliases
  host_platform              host_platform, platform
  os_version                 os_version, os, version, firmware
  device_model               device_model, model
  data_center                data_center, datacenter, site, dc, location
  ip_address                 ip_address, ip, ip_addr, management_ip, mgmt_ip
  certificate_authority      certificate_authority, ca, authority
  certificate_validation     certificate_validation
  owner                      owner, team, contact
  connection.credentials     credentials, credentials_secret
  connection.port            port
  connection.tls_port        tls_port
  connection.username        username, user
  connection.ssh_host_key    ssh_host_key
  connection.tls_spki_sha256 tls_spki_sha256
  connection.instance_id     instance_id
  connection.region          region
Platform spellings PAN-OS, BIG-IP and Opengear become panos, f5 and lighthouse; authority
names become keys (Let's Encrypt \u2192 lets_encrypt). The export owns the columns it has: an
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
source could not be read; 2 usage error.`,options:[{name:"format",takesValue:!0,short:"o"},{name:"help",takesValue:!1,short:"h"},{name:"out",takesValue:!0},{name:"region",takesValue:!0},{name:"report",takesValue:!0},{name:"root",takesValue:!0},{name:"source",takesValue:!0},{name:"tag-prefix",takesValue:!0},{name:"write",takesValue:!1}],subcommands:["aws-ssm","file"]},acme:{help:`Usage: ottr acme register --authority NAME [--staging | --directory URL] [--contact mailto:\u2026]
                         [--timeout SECONDS] [--root DIR]

Creates an ACME account for an authority of routing/settings.yaml with a new ECDSA P-256 key
and prints the key ONCE on standard output. Store it as the secret the authority names in
account_key_secret (e.g. "gh secret set LE_ACCOUNT_KEY --env pki < key.pem"); it is not kept
anywhere else. With eab configured, the EAB key id and HMAC key are read from the secrets it
names (environment variables of those names). Progress goes to standard error, so
"ottr acme register --authority lets_encrypt > key.pem" captures only the key.

The directory is fetched first: a CA that cannot be reached fails at once with the reason
("cannot reach URL: ECONNREFUSED", "ENOTFOUND", "timeout after N s"). Requests go through
the proxy HTTPS_PROXY names unless NO_PROXY exempts the CA's host (docs/proxy.md).

Options:
  --authority NAME   a key of authorities in routing/settings.yaml
  --staging          use the authority's staging_directory
  --directory URL    use this ACME directory instead (a test CA)
  --contact URI      account contact, e.g. mailto:pki@example.com (repeatable)
  --timeout SECONDS  longest wait for each answer of the CA, name lookup included (default 10)
  --root DIR         repository root (default: current directory)`,options:[{name:"authority",takesValue:!0},{name:"contact",takesValue:!0},{name:"directory",takesValue:!0},{name:"help",takesValue:!1,short:"h"},{name:"root",takesValue:!0},{name:"staging",takesValue:!1},{name:"timeout",takesValue:!0}],subcommands:["register"]}}}});export{__require,__esm,__commonJS,__export,__toESM,__toCommonJS,init_define_OTTR_BUILD,define_OTTR_BUILD_default,init_define_OTTR_COMMAND_DOCS,define_OTTR_COMMAND_DOCS_default};
