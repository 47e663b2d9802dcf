import type { TlsEndpoint } from '../../verify/tls.ts';
import type { CsrRequest, DriverSession, InstallReceipt } from '../contract.ts';
import type { LinuxOptions } from './linux-options.ts';
import { shellQuote } from './shell.ts';

/** Before anything changes: openssl is there, and the live certificate and key can be read. */
export function linuxPrecheck(options: LinuxOptions, sudo: boolean): string {
  const s = sudo ? 'sudo -n ' : '';
  return `command -v openssl >/dev/null && ${s}test -r ${shellQuote(options.certificate_path)} && ${s}test -r ${shellQuote(options.key_path)}`;
}

/** The shell steps a Linux host runs, shared by the SSH and SSM drivers; every value is quoted. */
export function linuxSteps(options: LinuxOptions, request: CsrRequest, sudo: boolean) {
  const s = sudo ? 'sudo -n ' : '';
  const q = shellQuote;
  const id = request.rotationId;
  const newKey = `${options.key_path}.${id}.new`;
  const newCert = `${options.certificate_path}.${id}.new`;
  const prevKey = `${options.key_path}.${id}.prev`;
  const prevCert = `${options.certificate_path}.${id}.prev`;
  const keygen =
    request.key.type === 'rsa'
      ? `-algorithm RSA -pkeyopt rsa_keygen_bits:${request.key.size ?? 2048}`
      : `-algorithm EC -pkeyopt ec_paramgen_curve:${request.key.curve ?? 'P-256'}`;
  const subject = `/CN=${request.names[0]}`;
  const san = `subjectAltName=${request.names.map((n) => `DNS:${n}`).join(',')}`;
  const hooks = (kind: 'pre' | 'post') =>
    options.hooks_dir
      ? `for h in ${q(`${options.hooks_dir}/${kind}`)}/*.sh; do [ -x "$h" ] || continue; ${s}"$h" || exit 1; done`
      : 'true';
  return {
    csr: `set -e; umask 077; ${s}openssl genpkey ${keygen} -out ${q(newKey)} 2>/dev/null; ${s}chmod 600 ${q(newKey)}; ${s}openssl req -new -key ${q(newKey)} -subj ${q(subject)} -addext ${q(san)}`,
    /** The chain arrives on stdin (SSH). */
    install: `set -e; umask 022; ${s}tee ${q(newCert)} >/dev/null`,
    /** The chain travels inside the command, base64-encoded (SSM has no stdin). */
    installEncoded: (chainPem: string) =>
      `set -e; umask 022; printf %s ${q(Buffer.from(chainPem).toString('base64'))} | base64 -d | ${s}tee ${q(newCert)} >/dev/null`,
    activate: [
      'set -e',
      hooks('pre'),
      `${s}cp -p ${q(options.certificate_path)} ${q(prevCert)}`,
      `${s}cp -p ${q(options.key_path)} ${q(prevKey)}`,
      `${s}mv -f ${q(newKey)} ${q(options.key_path)}`,
      `${s}mv -f ${q(newCert)} ${q(options.certificate_path)}`,
      `${s}sh -c ${q(options.reload_command)}`,
      hooks('post'),
    ].join('; '),
    // Activation may have stopped anywhere: restore what was saved (if it got that far) and reload.
    rollback: `set -e; if ${s}test -f ${q(prevCert)}; then ${s}cp -p ${q(prevCert)} ${q(options.certificate_path)}; ${s}cp -p ${q(prevKey)} ${q(options.key_path)}; fi; ${s}sh -c ${q(options.reload_command)}`,
    cleanup: `${s}rm -f ${q(prevCert)} ${q(prevKey)}`,
    discard: `${s}rm -f ${q(newKey)} ${q(newCert)}`,
  };
}

/** Runs one shell step on the host and returns its standard output; throws with the step's name on failure. */
export type RunStep = (step: string, script: string, stdin?: string) => Promise<string>;

/**
 * The driver session both Linux drivers share; they differ only in how a script reaches the host (`run`), in
 * whether it can take the chain on stdin, and in how they close.
 */
export function linuxSession(
  options: LinuxOptions,
  sudo: boolean,
  transport: { run: RunStep; stdin: boolean; endpoint: TlsEndpoint; close(): Promise<void> },
): DriverSession {
  const { run } = transport;
  const steps = (request: CsrRequest) => linuxSteps(options, request, sudo);
  const of = (receipt: InstallReceipt) => receipt.request as CsrRequest;
  return {
    async precheck() {
      await run('precheck', linuxPrecheck(options, sudo));
    },
    async generateCsr(request) {
      const out = await run('key and CSR generation', steps(request).csr);
      const csr = /-----BEGIN CERTIFICATE REQUEST-----[\s\S]+?-----END CERTIFICATE REQUEST-----/.exec(
        out,
      )?.[0];
      if (!csr) throw new Error('the host printed no CSR');
      return csr;
    },
    async install(chainPem, request): Promise<InstallReceipt> {
      if (transport.stdin) await run('install', steps(request).install, chainPem);
      else await run('install', steps(request).installEncoded(chainPem));
      return { request };
    },
    async activate(receipt) {
      await run('activate', steps(of(receipt)).activate);
    },
    async rollback(receipt) {
      await run('rollback', steps(of(receipt)).rollback);
    },
    async cleanup(receipt) {
      await run('cleanup', steps(of(receipt)).cleanup);
    },
    async discard(request) {
      await run('discard', steps(request).discard);
    },
    tlsEndpoint: () => transport.endpoint,
    close: () => transport.close(),
  };
}
