import { type ParseArgsConfig, parseArgs } from 'node:util';
import { didYouMean } from '../util/suggest.ts';
import type { CliIO, Command } from './command.ts';
import { UsageError } from './command.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Thrown by parseFlags while optionsOf() asks a command which flags it takes. */
class OptionsProbe extends Error {
  constructor(readonly options: Options) {
    super('options probe');
  }
}

let probing = false;

/** The options parseArgs gets: the command's own, `--help`/`-h` always, and `-o` for `--format` where there is one. */
function withCommonOptions(options: Options): Options {
  const all: Options = { ...options, help: { type: 'boolean', short: 'h' } };
  const format = all.format;
  if (format && format.short === undefined && !Object.values(all).some((o) => o.short === 'o'))
    all.format = { ...format, short: 'o' };
  return all;
}

/** `--dryrun` → `; did you mean "--dry-run"?` (empty when nothing is close). */
function optionSuggestion(error: Error & { code?: string }, options: Options): string {
  if (error.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return '';
  const typed = /Unknown option '([^']+)'/.exec(error.message)?.[1];
  if (!typed?.startsWith('--')) return '';
  return didYouMean(
    typed,
    Object.keys(options).map((name) => `--${name}`),
  );
}

/**
 * Strict flag parsing for every command: unknown flags and missing values become UsageError (exit 2) with
 * the closest known flag suggested, `--help` is always accepted and `-o` is short for `--format`.
 */
export function parseFlags<T extends Options>(argv: string[], options: T, allowPositionals = false) {
  const all = withCommonOptions(options);
  if (probing) throw new OptionsProbe(all);
  try {
    const typed = all as T & { help: { type: 'boolean'; short: 'h' } };
    return parseArgs({ args: argv, options: typed, allowPositionals, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '.');
    const hint = optionSuggestion(error as Error, all);
    throw new UsageError(hint ? `${message.replace(/\.$/, '')}${hint}` : message);
  }
}

export interface OptionInfo {
  name: string;
  short?: string;
  takesValue: boolean;
}

const silentIO: CliIO = { stdout: () => {}, stderr: () => {}, env: {}, cwd: '.' };

/**
 * The flags a command accepts, as its parseFlags call declares them: every command parses its flags first,
 * so running it in probe mode stops at that call without doing anything else.
 */
export async function optionsOf(command: Command): Promise<OptionInfo[]> {
  // Only the synchronous start of run() is probed: nothing else can call parseFlags in the meantime.
  probing = true;
  let started: Promise<number>;
  try {
    started = command.run([], silentIO);
  } finally {
    probing = false;
  }
  let declared: Options | undefined;
  try {
    await started;
  } catch (error) {
    if (error instanceof OptionsProbe) declared = error.options;
    else throw error;
  }
  if (!declared) throw new Error(`ottr ${command.name} does not parse its flags with parseFlags`);
  return Object.entries(declared)
    .map(([name, option]) => ({
      name,
      takesValue: option.type === 'string',
      ...(option.short ? { short: option.short } : {}),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Validates a `--format` value against the formats a command supports. */
export function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${flag} must be one of ${allowed.join(', ')} (got "${value}")`);
}
