import { createHash } from 'node:crypto';
import { Client, type ConnectConfig } from 'ssh2';
import type { DriverContext } from '../contract.ts';
import type { RunStep } from '../shared/linux-steps.ts';

/** `SHA256:<base64 without padding>` of an SSH host key blob, as `ssh-keygen -l` prints it. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** What of the driver context the transport uses. */
type SshContext = Pick<DriverContext, 'device' | 'secret' | 'audit'>;

/** An authenticated SSH connection to a host whose key matched the pin. */
export interface SshTransport {
  /** The address connected to (the device's IP address, else its common name). */
  host: string;
  run: RunStep;
  close(): void;
}

interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Connects with `config`. When the host key was refused (`mismatch` says so, naming both fingerprints), that is
 * the error rather than the transport's.
 */
function handshake(client: Client, config: ConnectConfig, mismatch: () => Error | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', (error) => {
      reject(mismatch() ?? new Error(`SSH to ${config.host}:${config.port}: ${error.message}`));
    });
    client.connect(config);
  });
}

function exec(client: Client, command: string, stdin?: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, stream) => {
      if (error) return reject(error);
      let stdout = '';
      let stderr = '';
      stream.on('data', (c: Buffer) => {
        stdout += c.toString();
      });
      stream.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      stream.on('close', (code: number | null) => resolve({ code: code ?? -1, stdout, stderr }));
      if (stdin !== undefined) stream.end(stdin);
      else stream.end();
    });
  });
}

/**
 * Opens the SSH connection the device file describes: the host key is checked against `ssh_host_key` before
 * authentication (never trusted on first use), then the key named by `credentials` authenticates.
 */
export async function connectSsh(context: SshContext): Promise<SshTransport> {
  const { device } = context;
  const connection = device.connection ?? {};
  const pinned = connection.ssh_host_key;
  if (!pinned)
    throw new Error(
      'connection.ssh_host_key is required: the host key is pinned, never trusted on first use',
    );
  if (!connection.credentials)
    throw new Error('connection.credentials must name the secret with the SSH private key');
  const pin = pinned.replace(/=+$/, '');
  const host = device.ip_address ?? device.common_name;
  const client = new Client();
  let seen: string | undefined;
  const config: ConnectConfig = {
    host,
    port: connection.port ?? 22,
    username: connection.username ?? 'ottr',
    privateKey: context.secret(connection.credentials),
    readyTimeout: 15_000,
    hostVerifier: (key: Buffer) => {
      seen = hostKeyFingerprint(key);
      return seen === pin;
    },
  };
  if (connection.passphrase_credentials)
    config.passphrase = context.secret(connection.passphrase_credentials);
  await handshake(client, config, () =>
    seen && seen !== pin
      ? new Error(
          `host key mismatch for ${host}: the device presented ${seen}, the inventory pins ${pinned}; not connecting`,
        )
      : undefined,
  );
  const run: RunStep = async (step, command, stdin) => {
    const result = await exec(client, command, stdin);
    context.audit?.(result.stdout + result.stderr);
    if (result.code !== 0)
      throw new Error(
        `${step} failed on ${host} (exit ${result.code}): ${result.stderr.trim().slice(0, 500)}`,
      );
    return result.stdout;
  };
  return { host, run, close: () => client.end() };
}
