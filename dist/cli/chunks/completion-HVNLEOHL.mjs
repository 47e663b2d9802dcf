import { createRequire as __ottrCreateRequire } from 'node:module'; import { dirname as __ottrDirname } from 'node:path'; import { fileURLToPath as __ottrFileUrlToPath } from 'node:url'; const require = __ottrCreateRequire(import.meta.url); const __filename = __ottrFileUrlToPath(import.meta.url); const __dirname = __ottrDirname(__filename);
import{commandDoc}from"./chunk-6TSCF3TY.mjs";import{UsageError}from"./chunk-PBN7SNBO.mjs";import"./chunk-JVT3TPL2.mjs";import{init_define_OTTR_BUILD,init_define_OTTR_COMMAND_DOCS}from"./chunk-RWS3QTEB.mjs";init_define_OTTR_BUILD();init_define_OTTR_COMMAND_DOCS();var SHELLS=["bash","zsh","fish"],COMPLETION_HELP=`Usage: ottr completion bash|zsh|fish

Prints a script that completes ottr's commands, their sub-commands and flags in that shell:
  bash:  source <(ottr completion bash)               (or save it in ~/.local/share/bash-completion/completions/ottr)
  zsh:   source <(ottr completion zsh)                (after compinit; or save it as _ottr in your $fpath)
  fish:  ottr completion fish | source                (or save it in ~/.config/fish/completions/ottr.fish)
The script is generated from the command table, so it lists exactly what this version accepts.`;async function completionSpecs(commands){return Promise.all(commands.map(async entry=>{let{options,subcommands}=await commandDoc(entry);return{name:entry.name,summary:entry.summary,subcommands,options}}))}function flagWords(options){return options.flatMap(o=>[`--${o.name}`,...o.short?[`-${o.short}`]:[]])}function valueFlags(specs){let flags=new Set;for(let spec of specs)for(let o of spec.options)o.takesValue&&(flags.add(`--${o.name}`),o.short&&flags.add(`-${o.short}`));return[...flags].sort()}var quoteSingle=text=>`'${text.replace(/'/g,"'\\''")}'`;function bashScript(specs,builtIns){let names=[...specs.map(s=>s.name),...builtIns.map(b=>b.name)],cases=[...specs.map(s=>`    ${s.name}) words=${quoteSingle([...s.subcommands,...flagWords(s.options)].join(" "))} ;;`),...builtIns.map(b=>`    ${b.name}) words=${quoteSingle(b.subcommands.join(" "))} ;;`)];return`# bash completion for ottr: source <(ottr completion bash)
_ottr() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" words=''
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W ${quoteSingle([...names,"--help","--version"].join(" "))} -- "$cur"))
    return
  fi
  case "$prev" in
    ${valueFlags(specs).join("|")}) COMPREPLY=(); return ;;
  esac
  case "\${COMP_WORDS[1]}" in
${cases.join(`
`)}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -o bashdefault -F _ottr ottr
`}var zshQuote=text=>text.replace(/'/g,"'\\''").replace(/:/g,"\\:");function zshScript(specs,builtIns){let described=[...specs,...builtIns].map(s=>`    '${s.name}:${zshQuote(s.summary)}'`),cases=[...specs.map(s=>{let args=[...s.options.map(o=>`'--${o.name}${o.takesValue?":value:_files":""}'`),...s.options.filter(o=>o.short).map(o=>`'-${o.short}${o.takesValue?":value:":""}'`),...s.subcommands.length?[`'1:subcommand:(${s.subcommands.join(" ")})'`]:[],"'*:file:_files'"];return`    ${s.name}) _arguments ${args.join(" ")} ;;`}),...builtIns.map(b=>`    ${b.name}) _arguments '1:argument:(${b.subcommands.join(" ")})' ;;`)];return`#compdef ottr
# zsh completion for ottr: source <(ottr completion zsh) after compinit, or save as _ottr in your $fpath
_ottr() {
  local -a commands
  commands=(
${described.join(`
`)}
  )
  if (( CURRENT == 2 )); then
    _describe 'ottr command' commands
    return
  fi
  local command=$words[2]
  shift words
  (( CURRENT-- ))
  case $command in
${cases.join(`
`)}
  esac
}
compdef _ottr ottr
`}function fishScript(specs,builtIns){let all=[...specs,...builtIns],names=all.map(s=>s.name).join(" "),fishQuote=text=>`'${text.replace(/\\/g,"\\\\").replace(/'/g,"\\'")}'`;return`${["# fish completion for ottr: ottr completion fish | source","complete -c ottr -f",...all.map(s=>`complete -c ottr -n 'not __fish_seen_subcommand_from ${names}' -a ${s.name} -d ${fishQuote(s.summary)}`),...all.flatMap(s=>s.subcommands.length?[`complete -c ottr -n '__fish_seen_subcommand_from ${s.name}' -a ${fishQuote(s.subcommands.join(" "))}`]:[]),...specs.flatMap(s=>s.options.map(o=>`complete -c ottr -n '__fish_seen_subcommand_from ${s.name}' -l ${o.name}${o.short?` -s ${o.short}`:""}${o.takesValue?" -r -F":""}`))].join(`
`)}
`}function completionScript(shell,specs,builtIns){switch(shell){case"bash":return bashScript(specs,builtIns);case"zsh":return zshScript(specs,builtIns);case"fish":return fishScript(specs,builtIns);default:throw new UsageError(shell===void 0?`say which shell: ottr completion ${SHELLS.join("|")}`:`no completion for "${shell}"; the shells are ${SHELLS.join(", ")}`)}}export{COMPLETION_HELP,SHELLS,completionScript,completionSpecs};
