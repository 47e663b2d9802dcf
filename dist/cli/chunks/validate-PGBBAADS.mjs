import { createRequire as __ottrCreateRequire } from 'node:module'; import { dirname as __ottrDirname } from 'node:path'; import { fileURLToPath as __ottrFileUrlToPath } from 'node:url'; const require = __ottrCreateRequire(import.meta.url); const __filename = __ottrFileUrlToPath(import.meta.url); const __dirname = __ottrDirname(__filename);
import{resolveRoot}from"./chunk-27XEHK3K.mjs";import{loadRepository}from"./chunk-SKIQOEDE.mjs";import{countBySeverity,formatProblemGithub,formatProblemText}from"./chunk-JZFHMUY6.mjs";import"./chunk-IUOTGP64.mjs";import"./chunk-O7EFJVTC.mjs";import{EXIT_FINDINGS,EXIT_OK,oneOf,parseFlags}from"./chunk-PBN7SNBO.mjs";import"./chunk-JVT3TPL2.mjs";import"./chunk-FAN7MTKL.mjs";import"./chunk-MT6B37ZR.mjs";import"./chunk-XGHPOX4F.mjs";import{init_define_OTTR_BUILD,init_define_OTTR_COMMAND_DOCS}from"./chunk-RWS3QTEB.mjs";init_define_OTTR_BUILD();init_define_OTTR_COMMAND_DOCS();var FORMATS=["text","json","github"],HELP=`Usage: ottr validate [--root DIR] [--format text|json|github]

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

Exit codes: 0 valid (warnings allowed), 1 errors found, 2 usage error.`,validateCommand={name:"validate",summary:"check inventory, routes and settings against the schemas and rules",help:HELP,async run(argv,io){let{values}=parseFlags(argv,{root:{type:"string"},format:{type:"string"},verbose:{type:"boolean"}}),format=oneOf("format",values.format,FORMATS,"text"),root=resolveRoot(values.root,io.cwd),repository=await loadRepository(root),{errors,warnings}=countBySeverity(repository.problems),devices=repository.records.length,valid=errors===0,routed=repository.records.flatMap(r=>r.route?[{system_name:r.system_name,file:r.file,route:r.route.name,platform:r.route.platform}]:[]);if(format==="json"){let report={valid,devices,errors,warnings,problems:repository.problems,routed};io.stdout(`${JSON.stringify(report,null,2)}
`)}else{if(values.verbose&&format==="text")for(let r of routed)io.stdout(`${r.file}: rule "${r.route}" \u2192 platform ${r.platform}
`);let line=format==="github"?formatProblemGithub:formatProblemText;for(let problem of repository.problems)io.stdout(`${line(problem)}
`);io.stdout(`${summaryLine(repository.problems,devices,errors,warnings)}
`)}return valid?EXIT_OK:EXIT_FINDINGS}};function summaryLine(problems,devices,errors,warnings){let files=new Set(problems.filter(p=>p.severity==="error").map(p=>p.file)).size,checked=`${devices} device file${devices===1?"":"s"} checked`;return errors===0?`valid: ${checked}${warnings?`, ${warnings} warning${warnings===1?"":"s"}`:""}`:`invalid: ${errors} error${errors===1?"":"s"} in ${files} file${files===1?"":"s"}${warnings?`, ${warnings} warning${warnings===1?"":"s"}`:""} (${checked})`}export{validateCommand};
