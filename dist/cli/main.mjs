import { createRequire as __ottrCreateRequire } from 'node:module'; import { dirname as __ottrDirname } from 'node:path'; import { fileURLToPath as __ottrFileUrlToPath } from 'node:url'; const require = __ottrCreateRequire(import.meta.url); const __filename = __ottrFileUrlToPath(import.meta.url); const __dirname = __ottrDirname(__filename);
import{commandDoc,commandDocs,commands,helpText}from"./chunks/chunk-6TSCF3TY.mjs";import{EXIT_USAGE,UsageError}from"./chunks/chunk-PBN7SNBO.mjs";import{didYouMean}from"./chunks/chunk-JVT3TPL2.mjs";import{init_define_OTTR_BUILD,init_define_OTTR_COMMAND_DOCS}from"./chunks/chunk-RWS3QTEB.mjs";init_define_OTTR_BUILD();init_define_OTTR_COMMAND_DOCS();var OVERVIEW=`ottr \u2014 agentless certificate rotation driven from a git repository

Usage: ottr <command> [options]        ottr <command> --help (or ottr help <command>) for details

Commands:
{{commands}}

The repository root (--root, default: the current directory) holds inventory/, routing/ and schemas/.
-o FMT is short for --format FMT wherever a command has --format.
Exit codes: 0 ok, 1 findings or failure, 2 usage error.`,BUILT_INS=[{name:"help",summary:"show the help of a command: ottr help <command>"},{name:"version",summary:"print the version, the bundle build and the commit (also --version)"},{name:"completion",summary:"print a shell completion script: ottr completion bash|zsh|fish"}];function overview(){let rows=[...commands,...BUILT_INS],width=Math.max(...rows.map(c=>c.name.length)),lines=rows.map(c=>`  ${c.name.padEnd(width)}  ${c.summary}`);return OVERVIEW.replace("{{commands}}",lines.join(`
`))}function defaultIO(){return{stdout:text=>process.stdout.write(text),stderr:text=>process.stderr.write(text),env:process.env,cwd:process.cwd()}}var allNames=()=>[...commands.map(c=>c.name),...BUILT_INS.map(b=>b.name)];function unknownCommand(name,io){return io.stderr(`ottr: unknown command "${name}"${didYouMean(name,allNames())}

${overview()}
`),EXIT_USAGE}async function commandHelp(entry){return helpText(await commandDoc(entry))}async function helpCommand(rest,io){let[topic,...extra]=rest;if(topic===void 0||topic==="--help"||topic==="-h")return io.stdout(`${overview()}
`),0;if(extra.length>0)return io.stderr(`ottr help: give one command: ottr help <command>
`),EXIT_USAGE;if(topic==="version")return builtInHelp("version",io);if(topic==="completion")return builtInHelp("completion",io);if(topic==="help")return io.stdout(`Usage: ottr help <command>

Shows the same text as ottr <command> --help.
`),0;let entry=commands.find(c=>c.name===topic);return entry?(io.stdout(await commandHelp(entry)),0):unknownCommand(topic,io)}async function builtInHelp(name,io){return name==="version"?io.stdout(`${(await import("./chunks/version-RZYLOAWN.mjs")).VERSION_HELP}
`):io.stdout(`${(await import("./chunks/completion-HVNLEOHL.mjs")).COMPLETION_HELP}
`),0}async function versionCommand(rest,io){if(rest.includes("--help")||rest.includes("-h"))return builtInHelp("version",io);if(rest.length>0)return io.stderr(`ottr version: takes no arguments (got "${rest[0]}")
`),EXIT_USAGE;let{versionText}=await import("./chunks/version-RZYLOAWN.mjs");return io.stdout(`${versionText()}
`),0}async function completionCommand(rest,io){let{COMPLETION_HELP,completionScript,completionSpecs}=await import("./chunks/completion-HVNLEOHL.mjs");if(rest.includes("--help")||rest.includes("-h"))return builtInHelp("completion",io);try{if(rest.length>1)throw new UsageError("give one shell");let builtIns=[{name:"help",summary:BUILT_INS[0].summary,subcommands:commands.map(c=>c.name)},{name:"version",summary:BUILT_INS[1].summary,subcommands:[]},{name:"completion",summary:BUILT_INS[2].summary,subcommands:["bash","zsh","fish"]}];return io.stdout(completionScript(rest[0],await completionSpecs(commands),builtIns)),0}catch(error){if(!(error instanceof UsageError))throw error;return io.stderr(`ottr completion: ${error.message}

${COMPLETION_HELP}
`),EXIT_USAGE}}async function loadCounters(){let{loadTimings}=await import("./chunks/load-TSWODEET.mjs"),{files,readMs,validateMs,positionalParses}=loadTimings;return{files,readMs,validateMs,positionalParses}}function printTimings(io,marks,before,after){let read=after.readMs-before.readMs,validate=after.validateMs-before.validateMs,fields=[["startup",marks.started.toFixed(1)],["load",(marks.loaded-marks.started).toFixed(1)],["read",read.toFixed(1)],["validate",validate.toFixed(1)],["rest",(marks.finished-marks.loaded-read-validate).toFixed(1)],["total",marks.finished.toFixed(1)],["files",String(after.files-before.files)],["positional",String(after.positionalParses-before.positionalParses)]];io.stderr(`ottr timings: ${fields.map(([k,v])=>`${k}=${v}`).join(" ")}
`)}async function runCommand(entry,rest,io){if(rest.includes("--help")||rest.includes("-h"))return io.stdout(await commandHelp(entry)),0;let started=performance.now(),counters=io.env.OTTR_TIMINGS?await loadCounters():void 0,command=await entry.load(),loaded=performance.now();try{return await command.run(rest,io)}catch(error){if(error instanceof UsageError)return io.stderr(`ottr ${command.name}: ${error.message}
Run "ottr ${command.name} --help" for usage.
`),EXIT_USAGE;let message=error instanceof Error?error.message:String(error);return io.stderr(`ottr ${command.name}: internal error: ${message}
`),io.env.OTTR_DEBUG&&io.stderr(`${error.stack??""}
`),1}finally{if(counters){commandTimed=!0;let finished=performance.now();printTimings(io,{started,loaded,finished},counters,await loadCounters())}}}async function main(argv,io=defaultIO()){let started=performance.now(),code=await dispatch(argv,io);if(io.env.OTTR_TIMINGS&&!commandTimed){let ms=n=>n.toFixed(1);io.stderr(`ottr timings: startup=${ms(started)} total=${ms(performance.now())}
`)}return code}var commandTimed=!1;async function dispatch(argv,io){let[name,...rest]=argv;if(name===void 0||name==="--help"||name==="-h")return io.stdout(`${overview()}
`),name===void 0?EXIT_USAGE:0;if(name==="help")return helpCommand(rest,io);if(name==="--version"||name==="-V"||name==="version")return versionCommand(rest,io);if(name==="completion")return completionCommand(rest,io);let entry=commands.find(c=>c.name===name);return entry?runCommand(entry,rest,io):unknownCommand(name,io)}export{commandDocs,main,overview};
