import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatProblemText } from '../../model/problems.ts';
import { flagProblems } from '../../onboard/checks.ts';
import {
  type CompleteOptions,
  completeDraft,
  type MissingField,
  NoAuthorityError,
} from '../../onboard/complete.ts';
import { completeDevice, deviceFlagHelp, deviceFlagOptions, draftFromFlags } from '../../onboard/fields.ts';
import { afterOnboardingLines } from '../../onboard/hints.ts';
import { type AnswerSource, InputEndedError, Prompter, processAnswerSource } from '../../onboard/prompt.ts';
import { checkProposal, deviceFilePath, renderProposedDevice } from '../../onboard/proposal.ts';
import { loadRepository } from '../../repository/load.ts';
import { FileExistsError, writeFileAtomic } from '../../util/files.ts';
import { parseFlags } from '../args.ts';
import { type Command, EXIT_FINDINGS, EXIT_OK, UsageError } from '../command.ts';
import { resolveRoot } from '../root.ts';

const HELP = `Usage: ottr onboard [--root DIR] [field flags…] [--yes] [--force]

Writes a new device file, inventory/<data_center>/<system_name>.yaml, with the schema line
and short comments, after checking it in the context of the whole repository (schemas,
settings, routing rules, unique system_name). On errors nothing is written. Then prints
the _acme-challenge CNAMEs to create, how to read the pins the device needs, and the next
step (a pull request).

Fields:
${deviceFlagHelp()}

Every flag's value is checked before anything is asked (a bad one is a usage error naming
the flag). On a terminal, missing required fields are asked for, with the values the
repository knows as choices (data centers, platforms, and only the authorities whose key
policy the device's platform can meet), then ip_address, then the connection fields the
matching routing rule needs (credentials, ssh_host_key for linux-ssh, instance_id for
linux-ssm, tls_spki_sha256 when certificate_validation is false). Each answer is checked
as it is given, and a field the finished file still fails on is asked again. Without a
terminal, or with --yes, nothing is asked: a missing field is a usage error naming its flag.

Options:
  --root DIR   repository root (default: current directory)
  --yes        never ask
  --force      overwrite the device's file when it exists

Exit codes: 0 written; 1 the file exists (without --force) or the device does not validate
(nothing written); 2 usage error (a missing field without a terminal, a flag whose value is
malformed or does not validate).`;

function missingMessage(missing: MissingField[], why: string): string {
  const names = missing.map((m) => `${m.field} (${m.flag})`).join(', ');
  const hints = missing.flatMap((m) => (m.hint ? [`\n${m.hint}`] : [])).join('');
  return `missing ${names}; ${why}${hints}`;
}

/** The onboard command reading answers from `answers` (tests pass a scripted stream). */
export function createOnboardCommand(answers: () => AnswerSource = processAnswerSource): Command {
  return {
    name: 'onboard',
    summary: 'write a new device file (flags or questions), checked, with the DNS records to create',
    help: HELP,
    async run(argv, io) {
      const { values } = parseFlags(argv, {
        ...deviceFlagOptions(),
        root: { type: 'string' },
        yes: { type: 'boolean' },
        force: { type: 'boolean' },
      });
      const draft = draftFromFlags(values as Record<string, string | boolean | string[] | undefined>);
      const root = resolveRoot(values.root, io.cwd);
      const repository = await loadRepository(root);
      if (!repository.settings || !repository.routes) {
        io.stderr(
          'ottr onboard: routing/settings.yaml or routing/routes.yaml is missing or invalid, so a new device cannot be checked (ottr validate shows why)\n',
        );
        return EXIT_FINDINGS;
      }
      const source = values.yes ? undefined : answers();
      const interactive = Boolean(source?.interactive);
      // A flag that cannot stand fails now, not after the questions; a complete set of flags without a terminal
      // is checked as a file instead, with every problem at its line.
      if (interactive || !completeDevice(draft)) {
        const refused = flagProblems(repository, draft);
        if (refused.length > 0)
          throw new UsageError(`${refused.join('\n')}\nnothing was ${interactive ? 'asked or ' : ''}written`);
      }
      if (interactive && draft.system_name && draft.data_center && !values.force) {
        const file = deviceFilePath({ system_name: draft.system_name, data_center: draft.data_center });
        if (existsSync(join(root, file))) {
          io.stderr(
            `ottr onboard: ${file} already exists; nothing was asked or written (--force overwrites it)\n`,
          );
          return EXIT_FINDINGS;
        }
      }
      const prompter = source && interactive ? new Prompter(source.input, io.stderr) : undefined;
      const options: CompleteOptions = {
        say: io.stderr,
        overwrite: Boolean(values.force),
        ...(prompter ? { prompter } : {}),
      };
      let missing: MissingField[];
      try {
        missing = await completeDraft(repository, draft, options);
      } catch (error) {
        if (error instanceof InputEndedError) throw new UsageError(`${error.message}; nothing was written`);
        if (error instanceof NoAuthorityError) {
          io.stderr(`ottr onboard: ${error.message}; nothing was written\n`);
          return EXIT_FINDINGS;
        }
        throw error;
      } finally {
        prompter?.close();
      }
      if (missing.length > 0) {
        const why = values.yes ? '--yes never asks' : 'not asking because the input is not a terminal';
        throw new UsageError(missingMessage(missing, why));
      }
      const device = completeDevice(draft)!;
      const file = deviceFilePath(device);
      if (existsSync(join(root, file)) && !values.force) {
        io.stderr(`ottr onboard: ${file} already exists; nothing was written (--force overwrites it)\n`);
        return EXIT_FINDINGS;
      }
      const checked = checkProposal(repository, file, renderProposedDevice(device));
      for (const problem of checked.problems) io.stderr(`${formatProblemText(problem)}\n`);
      if (!checked.valid) {
        io.stderr(`ottr onboard: ${file} would not validate; nothing was written\n`);
        return EXIT_FINDINGS;
      }
      try {
        writeFileAtomic(join(root, file), checked.text, { overwrite: Boolean(values.force) });
      } catch (error) {
        if (!(error instanceof FileExistsError)) throw error;
        io.stderr(`ottr onboard: ${file} already exists; nothing was written (--force overwrites it)\n`);
        return EXIT_FINDINGS;
      }
      const via = checked.route
        ? ` (routing rule "${checked.route.name}" → platform ${checked.route.platform})`
        : '';
      const lines = [
        `wrote ${file}${via}`,
        ...afterOnboardingLines(device, file, repository.settings, checked.route?.platform),
      ];
      io.stdout(`${lines.join('\n')}\n`);
      return EXIT_OK;
    },
  };
}

export const onboardCommand = createOnboardCommand();
