import { DEFAULT_REGISTER_TIMEOUT_MS, directoryFor, registerAccount } from '../../acme/account.ts';
import { loadRepository } from '../../repository/load.ts';
import { didYouMean } from '../../util/suggest.ts';
import { parseFlags } from '../args.ts';
import { type Command, EXIT_FINDINGS, EXIT_OK, UsageError } from '../command.ts';
import { resolveRoot } from '../root.ts';

const DEFAULT_TIMEOUT_S = DEFAULT_REGISTER_TIMEOUT_MS / 1000;

const HELP = `Usage: ottr acme register --authority NAME [--staging | --directory URL] [--contact mailto:…]
                         [--timeout SECONDS] [--root DIR]

Creates an ACME account for an authority of routing/settings.yaml with a new ECDSA P-256 key
and prints the key ONCE on standard output. Store it as the secret the authority names in
account_key_secret (e.g. "gh secret set LE_ACCOUNT_KEY --env pki < key.pem"); it is not kept
anywhere else. With eab configured, the EAB key id and HMAC key are read from the secrets it
names (environment variables of those names). Progress goes to standard error, so
"ottr acme register --authority lets_encrypt > key.pem" captures only the key.

The directory is fetched first: a CA that cannot be reached fails at once with the reason
("cannot reach URL: ECONNREFUSED", "ENOTFOUND", "timeout after N s"). Requests go through
the proxy HTTPS_PROXY names unless NO_PROXY exempts the CA's host (docs/proxy.md).

Options:
  --authority NAME   a key of authorities in routing/settings.yaml
  --staging          use the authority's staging_directory
  --directory URL    use this ACME directory instead (a test CA)
  --contact URI      account contact, e.g. mailto:pki@example.com (repeatable)
  --timeout SECONDS  longest wait for each answer of the CA, name lookup included (default ${DEFAULT_TIMEOUT_S})
  --root DIR         repository root (default: current directory)`;

export const acmeCommand: Command = {
  name: 'acme',
  summary: 'ACME account management: acme register --authority NAME',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      {
        authority: { type: 'string' },
        staging: { type: 'boolean' },
        directory: { type: 'string' },
        contact: { type: 'string', multiple: true },
        timeout: { type: 'string' },
        root: { type: 'string' },
      },
      true,
    );
    if (positionals[0] !== 'register' || positionals.length !== 1)
      throw new UsageError('the only subcommand is "register"');
    if (!values.authority) throw new UsageError('--authority is required');
    if (values.staging && values.directory) throw new UsageError('give --staging or --directory, not both');
    const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0 || timeoutS > 600)
      throw new UsageError('--timeout must be a number of seconds between 0 and 600');
    const repository = await loadRepository(resolveRoot(values.root, io.cwd));
    if (!repository.settings) {
      io.stderr('ottr acme: routing/settings.yaml is missing or invalid (ottr validate shows why)\n');
      return EXIT_FINDINGS;
    }
    const authority = repository.settings.authorities[values.authority];
    if (!authority) {
      throw new UsageError(
        `no authority "${values.authority}"${didYouMean(values.authority, Object.keys(repository.settings.authorities))}`,
      );
    }
    let directory: string;
    try {
      directory = directoryFor(authority, {
        ...(values.staging ? { staging: true } : {}),
        ...(values.directory ? { directory: values.directory } : {}),
      });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    io.stderr(`registering an account at ${directory} …\n`);
    try {
      const registration = await registerAccount(
        authority,
        directory,
        io.env,
        values.contact ?? [],
        timeoutS * 1000,
      );
      io.stderr(`account ${registration.accountUrl} created; its key follows on standard output.\n`);
      io.stderr(`store it as the secret ${authority.account_key_secret}; it is shown only this once.\n`);
      io.stdout(
        registration.accountKeyPem.endsWith('\n')
          ? registration.accountKeyPem
          : `${registration.accountKeyPem}\n`,
      );
      return EXIT_OK;
    } catch (error) {
      io.stderr(`ottr acme: registration failed: ${(error as Error).message}\n`);
      return EXIT_FINDINGS;
    }
  },
};
