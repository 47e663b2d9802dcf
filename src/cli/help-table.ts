import { type OptionInfo, optionsOf } from './args.ts';
import type { Command } from './command.ts';
import { type CommandEntry, commands } from './commands/index.ts';

/** What `ottr <command> --help` and the completion scripts need to know about a command. */
export interface CommandDoc {
  help: string;
  /** The flags its parseFlags call declares (with --help and -o). */
  options: OptionInfo[];
  /** Words that may follow the command name (`sync aws-ssm|file`), from its Usage lines. */
  subcommands: string[];
}

/**
 * The bundle carries every command's CommandDoc, taken from the commands themselves when it was built
 * (scripts/build-cli.mjs), so `--help`, `help <command>` and `completion` load no command and none of the
 * libraries a command imports. Running the TypeScript sources, it is undefined and the command is loaded.
 */
declare const __OTTR_COMMAND_DOCS__: Record<string, CommandDoc> | undefined;

/** `ottr sync aws-ssm …` and `ottr sync file …` → ['aws-ssm', 'file']. */
export function subcommandsIn(name: string, help: string): string[] {
  const words = new Set<string>();
  const usage = new RegExp(`^(?:Usage:)?\\s*ottr ${name} ([a-z][a-z0-9-]*)\\b`, 'gm');
  for (const match of help.matchAll(usage)) words.add(match[1]!);
  return [...words];
}

export async function docOf(command: Command): Promise<CommandDoc> {
  return {
    help: command.help,
    options: await optionsOf(command),
    subcommands: subcommandsIn(command.name, command.help),
  };
}

export async function commandDoc(entry: CommandEntry): Promise<CommandDoc> {
  const built = typeof __OTTR_COMMAND_DOCS__ === 'undefined' ? undefined : __OTTR_COMMAND_DOCS__[entry.name];
  return built ?? docOf(await entry.load());
}

/** Every command's doc, loading every command: the build embeds this in the bundle. */
export async function commandDocs(): Promise<Record<string, CommandDoc>> {
  const docs: Record<string, CommandDoc> = {};
  for (const entry of commands) docs[entry.name] = await docOf(await entry.load());
  return docs;
}

/** The --help text: the command's own, and the short forms every command accepts. */
export function helpText(doc: CommandDoc): string {
  const shorts = doc.options.flatMap((o) => (o.short ? [`-${o.short} for --${o.name}`] : []));
  return `${doc.help.trimEnd()}\n\nShort options: ${shorts.join(', ')}.\n`;
}
