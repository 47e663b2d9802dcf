import { type CliIO, type Command, EXIT_USAGE, UsageError } from './command.ts';
import { commands } from './commands/index.ts';

const OVERVIEW = `ottr — agentless certificate rotation driven from a git repository

Usage: ottr <command> [options]        ottr <command> --help for details

Commands:
${'{{commands}}'}

The repository root (--root, default: the current directory) holds inventory/, routing/ and schemas/.
Exit codes: 0 ok, 1 findings or failure, 2 usage error.`;

export function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
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

export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(`${overview()}\n`);
    return name === undefined ? EXIT_USAGE : 0;
  }
  const command: Command | undefined = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`ottr: unknown command "${name}"\n\n${overview()}\n`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`${command.help.trimEnd()}\n`);
    return 0;
  }
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
  }
}
