import type { OptionInfo } from './args.ts';
import { UsageError } from './command.ts';
import type { CommandEntry } from './commands/index.ts';
import { commandDoc } from './help-table.ts';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What the completion scripts offer for one command; all of it comes from the command table. */
export interface CompletionSpec {
  name: string;
  summary: string;
  /** Words that may follow the command name (`sync aws-ssm|file`), from its Usage lines. */
  subcommands: string[];
  options: OptionInfo[];
}

/** The commands main.ts answers itself, next to the table's. */
export interface BuiltIn {
  name: string;
  summary: string;
  subcommands: string[];
}

export const COMPLETION_HELP = `Usage: ottr completion bash|zsh|fish

Prints a script that completes ottr's commands, their sub-commands and flags in that shell:
  bash:  source <(ottr completion bash)               (or save it in ~/.local/share/bash-completion/completions/ottr)
  zsh:   source <(ottr completion zsh)                (after compinit; or save it as _ottr in your $fpath)
  fish:  ottr completion fish | source                (or save it in ~/.config/fish/completions/ottr.fish)
The script is generated from the command table, so it lists exactly what this version accepts.`;

export async function completionSpecs(commands: readonly CommandEntry[]): Promise<CompletionSpec[]> {
  return Promise.all(
    commands.map(async (entry) => {
      const { options, subcommands } = await commandDoc(entry);
      return { name: entry.name, summary: entry.summary, subcommands, options };
    }),
  );
}

function flagWords(options: readonly OptionInfo[]): string[] {
  return options.flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]);
}

function valueFlags(specs: readonly CompletionSpec[]): string[] {
  const flags = new Set<string>();
  for (const spec of specs)
    for (const o of spec.options)
      if (o.takesValue) {
        flags.add(`--${o.name}`);
        if (o.short) flags.add(`-${o.short}`);
      }
  return [...flags].sort();
}

const quoteSingle = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

function bashScript(specs: readonly CompletionSpec[], builtIns: readonly BuiltIn[]): string {
  const names = [...specs.map((s) => s.name), ...builtIns.map((b) => b.name)];
  const cases = [
    ...specs.map(
      (s) => `    ${s.name}) words=${quoteSingle([...s.subcommands, ...flagWords(s.options)].join(' '))} ;;`,
    ),
    ...builtIns.map((b) => `    ${b.name}) words=${quoteSingle(b.subcommands.join(' '))} ;;`),
  ];
  return `# bash completion for ottr: source <(ottr completion bash)
_ottr() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" words=''
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W ${quoteSingle([...names, '--help', '--version'].join(' '))} -- "$cur"))
    return
  fi
  case "$prev" in
    ${valueFlags(specs).join('|')}) COMPREPLY=(); return ;;
  esac
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -o bashdefault -F _ottr ottr
`;
}

const zshQuote = (text: string) => text.replace(/'/g, `'\\''`).replace(/:/g, '\\:');

function zshScript(specs: readonly CompletionSpec[], builtIns: readonly BuiltIn[]): string {
  const described = [...specs, ...builtIns].map((s) => `    '${s.name}:${zshQuote(s.summary)}'`);
  const cases = [
    ...specs.map((s) => {
      const args = [
        ...s.options.map((o) => `'--${o.name}${o.takesValue ? ':value:_files' : ''}'`),
        ...s.options.filter((o) => o.short).map((o) => `'-${o.short}${o.takesValue ? ':value:' : ''}'`),
        ...(s.subcommands.length ? [`'1:subcommand:(${s.subcommands.join(' ')})'`] : []),
        `'*:file:_files'`,
      ];
      return `    ${s.name}) _arguments ${args.join(' ')} ;;`;
    }),
    ...builtIns.map((b) => `    ${b.name}) _arguments '1:argument:(${b.subcommands.join(' ')})' ;;`),
  ];
  return `#compdef ottr
# zsh completion for ottr: source <(ottr completion zsh) after compinit, or save as _ottr in your $fpath
_ottr() {
  local -a commands
  commands=(
${described.join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe 'ottr command' commands
    return
  fi
  local command=$words[2]
  shift words
  (( CURRENT-- ))
  case $command in
${cases.join('\n')}
  esac
}
compdef _ottr ottr
`;
}

function fishScript(specs: readonly CompletionSpec[], builtIns: readonly BuiltIn[]): string {
  const all = [...specs, ...builtIns];
  const names = all.map((s) => s.name).join(' ');
  const fishQuote = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const lines = [
    '# fish completion for ottr: ottr completion fish | source',
    'complete -c ottr -f',
    ...all.map(
      (s) =>
        `complete -c ottr -n 'not __fish_seen_subcommand_from ${names}' -a ${s.name} -d ${fishQuote(s.summary)}`,
    ),
    ...all.flatMap((s) =>
      s.subcommands.length
        ? [
            `complete -c ottr -n '__fish_seen_subcommand_from ${s.name}' -a ${fishQuote(s.subcommands.join(' '))}`,
          ]
        : [],
    ),
    ...specs.flatMap((s) =>
      s.options.map(
        (o) =>
          `complete -c ottr -n '__fish_seen_subcommand_from ${s.name}' -l ${o.name}${o.short ? ` -s ${o.short}` : ''}${o.takesValue ? ' -r -F' : ''}`,
      ),
    ),
  ];
  return `${lines.join('\n')}\n`;
}

export function completionScript(
  shell: string | undefined,
  specs: readonly CompletionSpec[],
  builtIns: readonly BuiltIn[],
): string {
  switch (shell) {
    case 'bash':
      return bashScript(specs, builtIns);
    case 'zsh':
      return zshScript(specs, builtIns);
    case 'fish':
      return fishScript(specs, builtIns);
    default:
      throw new UsageError(
        shell === undefined
          ? `say which shell: ottr completion ${SHELLS.join('|')}`
          : `no completion for "${shell}"; the shells are ${SHELLS.join(', ')}`,
      );
  }
}
