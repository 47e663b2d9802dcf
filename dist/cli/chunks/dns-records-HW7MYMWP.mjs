import { createRequire as __ottrCreateRequire } from 'node:module'; import { dirname as __ottrDirname } from 'node:path'; import { fileURLToPath as __ottrFileUrlToPath } from 'node:url'; const require = __ottrCreateRequire(import.meta.url); const __filename = __ottrFileUrlToPath(import.meta.url); const __dirname = __ottrDirname(__filename);
import{isAbsentAnswer,resolverFor}from"./chunk-KRMBWMN4.mjs";import{neededRecords,zoneFileLines}from"./chunk-GSCCSK5N.mjs";import{parseDeviceList}from"./chunk-LXTJSUQ7.mjs";import{resolveRoot}from"./chunk-27XEHK3K.mjs";import{loadRepository}from"./chunk-SKIQOEDE.mjs";import"./chunk-JZFHMUY6.mjs";import"./chunk-IUOTGP64.mjs";import"./chunk-O7EFJVTC.mjs";import{EXIT_FINDINGS,EXIT_OK,UsageError,oneOf,parseFlags}from"./chunk-PBN7SNBO.mjs";import"./chunk-JVT3TPL2.mjs";import"./chunk-FAN7MTKL.mjs";import"./chunk-XMFAW76T.mjs";import"./chunk-MT6B37ZR.mjs";import"./chunk-XGHPOX4F.mjs";import{init_define_OTTR_BUILD,init_define_OTTR_COMMAND_DOCS}from"./chunk-RWS3QTEB.mjs";init_define_OTTR_BUILD();init_define_OTTR_COMMAND_DOCS();init_define_OTTR_BUILD();init_define_OTTR_COMMAND_DOCS();var CONCURRENCY=16;async function checkOne(record,resolver){try{let found=(await resolver.resolveCname(record.name))[0]?.toLowerCase().replace(/\.$/,"");return found===record.target?{...record,state:"in_place"}:{...record,state:"wrong",...found?{found}:{}}}catch(error){if(isAbsentAnswer(error))return{...record,state:"missing"};let code=error.code??error.message;return{...record,state:"unchecked",error:code}}}async function checkNeededRecords(records,resolver){let results=new Array(records.length),next=0,worker=async()=>{for(;next<records.length;){let index=next++;results[index]=await checkOne(records[index],resolver)}};return await Promise.all(Array.from({length:Math.min(CONCURRENCY,records.length)},worker)),results}function isResolverAddress(value){let v4=/^(\d{1,3})(\.\d{1,3}){3}(:\d{1,5})?$/,v6port=/^\[[0-9a-f:.]+\](:\d{1,5})?$/i,v6=/^[0-9a-f]*:[0-9a-f:.]+$/i;return v4.test(value)||v6port.test(value)||v6.test(value)}var FORMATS=["zone","json"],HELP=`Usage: ottr dns-records [--root DIR] [--devices a,b] [--ttl SECONDS] [--format zone|json]
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

Devices with errors are left out; run ottr validate to see why.`,dnsRecordsCommand={name:"dns-records",summary:"print the _acme-challenge CNAMEs the inventory needs (zone-file form)",help:HELP,async run(argv,io){let{values}=parseFlags(argv,{root:{type:"string"},devices:{type:"string"},ttl:{type:"string"},format:{type:"string"},check:{type:"boolean"},resolver:{type:"string",multiple:!0}}),format=oneOf("format",values.format,FORMATS,"zone"),ttl=values.ttl===void 0?3600:Number(values.ttl);if(!Number.isInteger(ttl)||ttl<0||ttl>2147483647)throw new UsageError("--ttl must be a whole number of seconds");let servers=(values.resolver??[]).flatMap(r=>r.split(",")).map(r=>r.trim());if(servers.length>0&&!values.check)throw new UsageError("--resolver is used only with --check");let badServer=servers.find(r=>!isResolverAddress(r));if(badServer!==void 0)throw new UsageError(`--resolver takes an IP address (IP, IP:PORT, [IPv6]:PORT), not "${badServer}"`);let only=parseDeviceList(values.devices),repository=await loadRepository(resolveRoot(values.root,io.cwd));if(!repository.settings)return io.stderr(`ottr dns-records: routing/settings.yaml is missing or invalid (ottr validate shows why)
`),EXIT_FINDINGS;let known=new Set(repository.records.map(r=>r.system_name)),unknown=(only??[]).filter(name=>!known.has(name));if(unknown.length>0)throw new UsageError(`no such device: ${unknown.join(", ")}`);let devices=repository.records.filter(r=>r.device&&(!only||only.includes(r.system_name))).map(r=>r.device),records=neededRecords(devices,repository.settings.dns.delegate_zone),skipped=repository.records.filter(r=>!r.device&&(!only||only.includes(r.system_name))).length;if(skipped>0&&io.stderr(`ottr dns-records: ${skipped} device(s) with errors left out (ottr validate)
`),values.check){let checked=await checkNeededRecords(records,resolverFor(servers.length>0?servers:void 0,2e3));return printCheck(checked,{format,ttl,via:servers.length>0?servers.join(", "):"the system's resolvers"},io),checked.every(r=>r.state==="in_place")?EXIT_OK:EXIT_FINDINGS}if(format==="json")io.stdout(`${JSON.stringify(records,null,2)}
`);else{io.stdout(`; _acme-challenge CNAMEs for ${devices.length} device(s); delegate zone ${repository.settings.dns.delegate_zone}
`);for(let line of zoneFileLines(records,ttl))io.stdout(`${line}
`)}return EXIT_OK}};function printCheck(checked,options,io){if(options.format==="json"){io.stdout(`${JSON.stringify(checked,null,2)}
`);return}let toCreate=checked.filter(r=>r.state==="missing"||r.state==="wrong"),unchecked=checked.filter(r=>r.state==="unchecked"),inPlace=checked.length-toCreate.length-unchecked.length;if(io.stdout(`; ${checked.length} _acme-challenge CNAME(s) looked up through ${options.via}: ${inPlace} in place, ${checked.filter(r=>r.state==="missing").length} missing, ${checked.filter(r=>r.state==="wrong").length} wrong, ${unchecked.length} not checked
`),toCreate.length>0){io.stdout(`; create these in each name's own zone (replace a wrong one):
`);let why=r=>r.state==="wrong"?`now CNAME ${r.found??"(not a CNAME)"}.`:"missing",annotated=toCreate.map(r=>({...r,devices:[why(r),...r.devices]}));for(let line of zoneFileLines(annotated,options.ttl))io.stdout(`${line}
`)}for(let r of unchecked)io.stdout(`; not checked: ${r.name}. (${r.error}); ask again or pass --resolver
`)}export{dnsRecordsCommand};
