import { createHash } from 'node:crypto';
import { Client, type ConnectConfig } from 'ssh2';
import type { DriverContext, DriverSession, PlatformDriver } from '../contract.ts';
import { guardedDriver } from '../shared/credential-guard.ts';
import type { LinuxOptions } from '../shared/linux-options.ts';
import { linuxSession } from '../shared/linux-steps.ts';

/** `SHA256:<base64 without padding>` of an SSH host key blob, as `ssh-keygen -l` prints it. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Linux over SSH (ssh2): host key pinned before authentication, key authentication, openssl on the host. No
 * message carries any line of the private key or its passphrase (the guard cuts them out).
 */
export const linuxSshDriver: PlatformDriver<LinuxOptions> = guardedDriver(
  'linux-ssh',
  async (context: DriverContext<LinuxOptions>): Promise<DriverSession> => {
    const { device, options } = context;
    const connection = device.connection ?? {};
    const pinned = connection.ssh_host_key;
    if (!pinned)
      throw new Error(
        'connection.ssh_host_key is required: the host key is pinned, never trusted on first use',
      );
    if (!connection.credentials)
      throw new Error('connection.credentials must name the secret with the SSH private key');
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
        return seen === pinned.replace(/=+$/, '');
      },
    };
    if (connection.passphrase_credentials)
      config.passphrase = context.secret(connection.passphrase_credentials);
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', (error) => {
        if (seen && seen !== pinned.replace(/=+$/, '')) {
          reject(
            new Error(
              `host key mismatch for ${host}: the device presented ${seen}, the inventory pins ${pinned}; not connecting`,
            ),
          );
        } else {
          reject(new Error(`SSH to ${host}:${config.port}: ${error.message}`));
        }
      });
      client.connect(config);
    });

    const exec = (command: string, stdin?: string): Promise<ExecResult> =>
      new Promise((resolve, reject) => {
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
    const run = async (step: string, command: string, stdin?: string) => {
      const result = await exec(command, stdin);
      context.audit?.(result.stdout + result.stderr);
      if (result.code !== 0)
        throw new Error(
          `${step} failed on ${host} (exit ${result.code}): ${result.stderr.trim().slice(0, 500)}`,
        );
      return result.stdout;
    };
    return linuxSession(options, connection.sudo === true, {
      run,
      stdin: true,
      endpoint: { host, port: connection.tls_port ?? 443, servername: device.common_name },
      close: async () => {
        client.end();
      },
    });
  },
);
