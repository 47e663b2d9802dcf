import { didYouMean } from '../util/suggest.ts';
import { type CliIO, type Command, EXIT_USAGE, UsageError } from './command.ts';
import { type CommandEntry, commands } from './commands/index.ts';
import { commandDoc, helpText } from './help-table.ts';

export { commandDocs } from './help-table.ts';

const OVERVIEW = `ottr — agentless certificate rotation driven from a git repository

Usage: ottr <command> [options]        ottr <command> --help (or ottr help <command>) for details

Commands:
${'{{commands}}'}

The repository root (--root, default: the current directory) holds inventory/, routing/ and schemas/.
-o FMT is short for --format FMT wherever a command has --format.
Exit codes: 0 ok, 1 findings or failure, 2 usage error.`;

/** Commands main answers itself, listed after the table's. */
const BUILT_INS = [
  { name: 'help', summary: 'show the help of a command: ottr help <command>' },
  { name: 'version', summary: 'print the version, the bundle build and the commit (also --version)' },
  { name: 'completion', summary: 'print a shell completion script: ottr completion bash|zsh|fish' },
] as const;

export function overview(): string {
  const rows = [...commands, ...BUILT_INS];
  const width = Math.max(...rows.map((c) => c.name.length));
  const lines = rows.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return OVERVIEW.replace('{{commands}}', lines.join('\n'));
}

function defaultIO(): CliIO {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
  };
}

const allNames = () => [...commands.map((c) => c.name), ...BUILT_INS.map((b) => b.name)];

function unknownCommand(name: string, io: CliIO): number {
  io.stderr(`ottr: unknown command "${name}"${didYouMean(name, allNames())}\n\n${overview()}\n`);
  return EXIT_USAGE;
}

async function commandHelp(entry: CommandEntry): Promise<string> {
  return helpText(await commandDoc(entry));
}

async function helpCommand(rest: string[], io: CliIO): Promise<number> {
  const [topic, ...extra] = rest;
  if (topic === undefined || topic === '--help' || topic === '-h') {
    io.stdout(`${overview()}\n`);
    return 0;
  }
  if (extra.length > 0) {
    io.stderr('ottr help: give one command: ottr help <command>\n');
    return EXIT_USAGE;
  }
  if (topic === 'version') return builtInHelp('version', io);
  if (topic === 'completion') return builtInHelp('completion', io);
  if (topic === 'help') {
    io.stdout('Usage: ottr help <command>\n\nShows the same text as ottr <command> --help.\n');
    return 0;
  }
  const entry = commands.find((c) => c.name === topic);
  if (!entry) return unknownCommand(topic, io);
  io.stdout(await commandHelp(entry));
  return 0;
}

async function builtInHelp(name: 'version' | 'completion', io: CliIO): Promise<number> {
  if (name === 'version') io.stdout(`${(await import('./version.ts')).VERSION_HELP}\n`);
  else io.stdout(`${(await import('./completion.ts')).COMPLETION_HELP}\n`);
  return 0;
}

async function versionCommand(rest: string[], io: CliIO): Promise<number> {
  if (rest.includes('--help') || rest.includes('-h')) return builtInHelp('version', io);
  if (rest.length > 0) {
    io.stderr(`ottr version: takes no arguments (got "${rest[0]}")\n`);
    return EXIT_USAGE;
  }
  const { versionText } = await import('./version.ts');
  io.stdout(`${versionText()}\n`);
  return 0;
}

async function completionCommand(rest: string[], io: CliIO): Promise<number> {
  const { COMPLETION_HELP, completionScript, completionSpecs } = await import('./completion.ts');
  if (rest.includes('--help') || rest.includes('-h')) return builtInHelp('completion', io);
  try {
    if (rest.length > 1) throw new UsageError('give one shell');
    const builtIns = [
      { name: 'help', summary: BUILT_INS[0].summary, subcommands: commands.map((c) => c.name) },
      { name: 'version', summary: BUILT_INS[1].summary, subcommands: [] },
      { name: 'completion', summary: BUILT_INS[2].summary, subcommands: ['bash', 'zsh', 'fish'] },
    ];
    io.stdout(completionScript(rest[0], await completionSpecs(commands), builtIns));
    return 0;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`ottr completion: ${error.message}\n\n${COMPLETION_HELP}\n`);
    return EXIT_USAGE;
  }
}

interface LoadCounters {
  files: number;
  readMs: number;
  validateMs: number;
  positionalParses: number;
}

/** The loader's running totals, when OTTR_TIMINGS asks for them (the import is otherwise not made). */
async function loadCounters(): Promise<LoadCounters> {
  const { loadTimings } = await import('../repository/load.ts');
  const { files, readMs, validateMs, positionalParses } = loadTimings;
  return { files, readMs, validateMs, positionalParses };
}

/** OTTR_TIMINGS=1: where the time of this command went, on stderr (the CLI benchmark reads it). */
function printTimings(
  io: CliIO,
  marks: { started: number; loaded: number; finished: number },
  before: LoadCounters,
  after: LoadCounters,
) {
  const read = after.readMs - before.readMs;
  const validate = after.validateMs - before.validateMs;
  const fields: [string, string][] = [
    ['startup', marks.started.toFixed(1)],
    ['load', (marks.loaded - marks.started).toFixed(1)],
    ['read', read.toFixed(1)],
    ['validate', validate.toFixed(1)],
    ['rest', (marks.finished - marks.loaded - read - validate).toFixed(1)],
    ['total', marks.finished.toFixed(1)],
    ['files', String(after.files - before.files)],
    ['positional', String(after.positionalParses - before.positionalParses)],
  ];
  io.stderr(`ottr timings: ${fields.map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
}

async function runCommand(entry: CommandEntry, rest: string[], io: CliIO): Promise<number> {
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(await commandHelp(entry));
    return 0;
  }
  const started = performance.now();
  const counters = io.env.OTTR_TIMINGS ? await loadCounters() : undefined;
  const command: Command = await entry.load();
  const loaded = performance.now();
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`ottr ${command.name}: ${error.message}\nRun "ottr ${command.name} --help" for usage.\n`);
      return EXIT_USAGE;
    }
    // Anything else is our bug: say so plainly, with the stack only when asked for.
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`ottr ${command.name}: internal error: ${message}\n`);
    if (io.env.OTTR_DEBUG) io.stderr(`${(error as Error).stack ?? ''}\n`);
    return 1;
  } finally {
    if (counters) {
      commandTimed = true;
      const finished = performance.now();
      printTimings(io, { started, loaded, finished }, counters, await loadCounters());
    }
  }
}

export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  const started = performance.now();
  const code = await dispatch(argv, io);
  if (io.env.OTTR_TIMINGS && !commandTimed) {
    const ms = (n: number) => n.toFixed(1);
    io.stderr(`ottr timings: startup=${ms(started)} total=${ms(performance.now())}\n`);
  }
  return code;
}

/** Whether runCommand printed the timings of this process's command (then main does not). */
let commandTimed = false;

async function dispatch(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    io.stdout(`${overview()}\n`);
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === 'help') return helpCommand(rest, io);
  if (name === '--version' || name === '-V' || name === 'version') return versionCommand(rest, io);
  if (name === 'completion') return completionCommand(rest, io);
  const entry = commands.find((c) => c.name === name);
  if (!entry) return unknownCommand(name, io);
  return runCommand(entry, rest, io);
}
