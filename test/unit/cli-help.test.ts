import { describe, expect, it } from 'vitest';
import { optionsOf } from '../../src/cli/args.ts';
import { commands } from '../../src/cli/commands/index.ts';
import { runCli } from '../helpers/cli.ts';

describe('ottr help', () => {
  it('lists every command with its own summary (the table repeats it so --help loads no command)', async () => {
    const overview = await runCli(['--help']);
    expect(overview.code).toBe(0);
    for (const entry of commands) {
      const command = await entry.load();
      expect(command.name).toBe(entry.name);
      expect(entry.summary, entry.name).toBe(command.summary);
      expect(overview.stdout).toContain(`${entry.name}  `);
      expect(overview.stdout).toContain(command.summary);
    }
    for (const builtIn of ['help', 'version', 'completion'])
      expect(overview.stdout).toMatch(new RegExp(`\\n  ${builtIn} `));
  });

  it('`ottr help <command>` prints exactly `ottr <command> --help`', async () => {
    for (const entry of commands) {
      const viaHelp = await runCli(['help', entry.name]);
      const viaFlag = await runCli([entry.name, '--help']);
      const viaShort = await runCli([entry.name, '-h']);
      expect(viaHelp.code, entry.name).toBe(0);
      expect(viaHelp.stdout, entry.name).toBe(viaFlag.stdout);
      expect(viaShort.stdout, entry.name).toBe(viaFlag.stdout);
      expect(viaHelp.stdout).toContain((await entry.load()).help.trimEnd());
    }
  });

  it('a command --help names the short options it accepts', async () => {
    const validate = await runCli(['validate', '--help']);
    expect(validate.stdout).toMatch(/Short options: -o for --format, -h for --help\.\n$/);
    const rotate = await runCli(['rotate', '--help']);
    expect(rotate.stdout).toMatch(/Short options: -h for --help\.\n$/);
  });

  it('`ottr help` alone is the overview; an unknown topic is a usage error with a suggestion', async () => {
    expect((await runCli(['help'])).stdout).toBe((await runCli(['--help'])).stdout);
    const typo = await runCli(['help', 'stauts']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean "status"?');
    expect((await runCli(['help', 'version'])).stdout).toMatch(/^Usage: ottr version/);
    expect((await runCli(['help', 'completion'])).stdout).toMatch(/^Usage: ottr completion bash\|zsh\|fish/);
  });

  it('every command declares its flags through parseFlags (what help, completion and suggestions rely on)', async () => {
    for (const entry of commands) {
      const options = await optionsOf(await entry.load());
      expect(
        options.map((o) => o.name),
        entry.name,
      ).toContain('help');
      // What the command's help documents is what it accepts.
      const help = (await entry.load()).help;
      for (const option of options.filter((o) => o.name !== 'help'))
        expect(help, `${entry.name} --${option.name}`).toContain(`--${option.name}`);
    }
  });
});
