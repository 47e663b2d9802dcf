import { done, notYet, poll } from '../../util/poll.ts';
import type {
  CsrRequest,
  DriverContext,
  DriverSession,
  InstallReceipt,
  PlatformDriver,
} from '../contract.ts';
import { type CredentialGuard, guardedDriver } from '../shared/credential-guard.ts';
import {
  answerOf,
  escapeXml,
  isConnectionLost,
  PanosClient,
  textOf,
  uncommittedChange,
  type Xml,
} from './client.ts';
import type { PanosOptions } from './index.ts';

const SYSTEM = "/config/devices/entry[@name='localhost.localdomain']/deviceconfig/system";
const BINDING = `${SYSTEM}/ssl-tls-service-profile`;

/**
 * Errors that say the firewall is busy with another admin's work, not that the request is wrong: another commit
 * running (pan-os-python's PanCommitInProgress texts) or a lock (the exact texts are not public; see README).
 */
const BUSY = /another commit|a commit is in progress|\block(ed)?\b|lock is (already )?held/i;

/** What the firewall used before this rotation, as precheck found it: rollback and cleanup act on it. */
interface Previous {
  certificate?: string;
  mgmtProfile?: string;
}

/** One session with a firewall: its client, the route's options, and what precheck found. */
interface Firewall {
  client: PanosClient;
  options: PanosOptions;
  signal: AbortSignal;
  log(message: string): void;
  /** The SSL/TLS service profile the certificate is bound to. */
  profileXpath: string;
  previous: Previous;
  /** The admin whose changes this session commits and reverts; undefined while unknown. */
  admin: string | undefined;
  /** The admin the inventory names (connection.username) or the user keygen logged in. */
  configuredAdmin: string | undefined;
  /** sw-version from `show system info`. */
  version: string;
}

/** A node of the candidate configuration: its text, and who changed it without committing, if anyone. */
interface CandidateNode {
  value: string | undefined;
  change?: { admin: string; time?: string };
}

const asList = (node: unknown): Xml[] =>
  (Array.isArray(node) ? node : node === undefined || node === null ? [] : [node]) as Xml[];

const versionAtLeast = (version: string, major: number, minor: number) => {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
};

/** The certificate's name on the firewall: unique to the rotation, at most 63 characters (PAN-OS's limit). */
function certificateName(firewall: Firewall, request: CsrRequest): string {
  const prefix = firewall.options.certificatePrefix;
  return (
    request.rotationId.startsWith(`${prefix}-`) ? request.rotationId : `${prefix}-${request.rotationId}`
  ).slice(0, 63);
}

/**
 * Runs `action`, and again (bounded by lock_timeout) while the firewall answers that another admin's lock or
 * commit is in the way; any other error is thrown at once.
 */
async function whenFree<T>(firewall: Firewall, what: string, action: () => Promise<T>): Promise<T> {
  const timeoutMs = firewall.options.lockTimeoutMs;
  const outcome = await poll<T>(
    async () => {
      try {
        return done(await action());
      } catch (error) {
        if (!answerOf(error) || !BUSY.test((error as Error).message)) throw error;
        return notYet(`${what}: ${(error as Error).message}, for longer than lock_timeout (${timeoutMs} ms)`);
      }
    },
    { timeoutMs, initialDelayMs: 250, maxDelayMs: 5000, signal: firewall.signal },
  );
  if (!outcome.ok) throw new Error(outcome.reason);
  return outcome.value;
}

const setConfig = (firewall: Firewall, xpath: string, element: string) =>
  whenFree(firewall, `set ${xpath}`, () =>
    firewall.client.request({ type: 'config', action: 'set', xpath, element }),
  );

const deleteConfig = (firewall: Firewall, xpath: string) =>
  whenFree(firewall, `delete ${xpath}`, () =>
    firewall.client.request({ type: 'config', action: 'delete', xpath }),
  );

const certificateXpath = (name: string) => `/config/shared/certificate/entry[@name='${escapeXml(name)}']`;

/** A node of the candidate configuration, read whatever attributes PAN-OS put on it. */
async function candidateNode(firewall: Firewall, xpath: string, tag: string): Promise<CandidateNode> {
  const answer = await firewall.client.request({ type: 'config', action: 'get', xpath });
  const node = answer.result?.[tag];
  const change = uncommittedChange(node);
  return { value: textOf(node), ...(change ? { change } : {}) };
}

/**
 * Waits, bounded by lock_timeout, while another admin holds a lock of `kind` (`show config-locks` /
 * `show commit-locks`, as pango reads them), then fails naming the holders.
 */
async function awaitLocks(firewall: Firewall, kind: 'config' | 'commit'): Promise<void> {
  const tag = `${kind}-locks`;
  // pango asks for every vsys from 9.1 on.
  const cmd =
    kind === 'config' && versionAtLeast(firewall.version, 9, 1)
      ? '<show><config-locks><vsys>all</vsys></config-locks></show>'
      : `<show><${tag}></${tag}></show>`;
  const timeoutMs = firewall.options.lockTimeoutMs;
  const outcome = await poll(
    async () => {
      const answer = await firewall.client.request({ type: 'op', cmd });
      const holders = asList(answer.result?.[tag]?.entry)
        .map((entry) => String(entry?.['@name'] ?? ''))
        .filter((holder) => holder && holder !== firewall.admin);
      if (holders.length === 0) return done(undefined);
      const who = firewall.client.said(holders.join(', '));
      return notYet(`PAN-OS: ${kind} lock held by ${who} for longer than lock_timeout (${timeoutMs} ms)`);
    },
    { timeoutMs, initialDelayMs: 250, maxDelayMs: 5000, signal: firewall.signal },
  );
  if (!outcome.ok) throw new Error(`${outcome.reason}; nothing was changed`);
}

/** The commit of this session's changes: partial, for its admin, when the admin is known (as Ottr did). */
function commitForm(firewall: Firewall): Record<string, string> {
  if (!firewall.admin) return { type: 'commit', cmd: '<commit></commit>' };
  return {
    type: 'commit',
    action: 'partial',
    cmd: `<commit><partial><admin><member>${escapeXml(firewall.admin)}</member></admin></partial></commit>`,
  };
}

/**
 * Polls the commit job until FIN. While the management web server restarts (a commit that changes its profile or
 * certificate), requests fail to connect, or are refused while its authentication starts: pan-os-python's
 * `syncjob` retries exactly these, and so does this wait, bounded by commit_timeout.
 */
async function awaitJob(firewall: Firewall, job: string, what: string): Promise<Xml> {
  const { client } = firewall;
  const timeoutMs = firewall.options.commitTimeoutMs;
  const outcome = await poll<Xml>(
    async () => {
      let status: Xml;
      try {
        status = await client.request({
          type: 'op',
          cmd: `<show><jobs><id>${escapeXml(job)}</id></jobs></show>`,
        });
      } catch (error) {
        const restarting = isConnectionLost(error) || answerOf(error)?.code === '403';
        if (!restarting) throw error;
        return notYet(
          `commit ${job} (${what}): the management server did not answer for ${timeoutMs} ms (${(error as Error).message})`,
        );
      }
      const state: Xml = status.result?.job ?? {};
      return state.status === 'FIN'
        ? done(state)
        : notYet(`commit ${job} (${what}) still ${state.status} after ${timeoutMs} ms`);
    },
    { timeoutMs, initialDelayMs: 100, maxDelayMs: 5000, signal: firewall.signal },
  );
  if (!outcome.ok) throw new Error(outcome.reason);
  return outcome.value;
}

/** Commits this session's changes and polls the commit job until it finishes; `what` names the step. */
async function commit(firewall: Firewall, what: string): Promise<void> {
  const { client } = firewall;
  await awaitLocks(firewall, 'commit');
  const queued = await whenFree(firewall, `commit (${what})`, () => client.request(commitForm(firewall)));
  const job = textOf(queued.result?.job) ?? '';
  if (!job) return; // nothing to commit
  const finished = await awaitJob(firewall, job, what);
  if (textOf(finished.result) !== 'OK')
    throw new Error(
      `commit ${job} (${what}) failed: ${client.said(finished.details) || client.said(String(textOf(finished.result) ?? 'no result'))}`,
    );
}

/**
 * Reverts this session's admin's uncommitted changes (`revert config partial admin`, PAN-OS 10.0's CLI in the
 * XML API's form), so that a failed rotation leaves nothing in the candidate for the next admin's commit. Without
 * a known admin nothing is reverted: a full revert would discard every other admin's work too.
 */
async function revertOwnChanges(firewall: Firewall): Promise<boolean> {
  const { admin } = firewall;
  if (!admin) return false;
  await whenFree(firewall, 'revert', () =>
    firewall.client.request({
      type: 'op',
      cmd: `<revert><config><partial><admin><member>${escapeXml(admin)}</member></admin></partial></config></revert>`,
    }),
  );
  return true;
}

/** The admin of this session's key: the `show admins` entry marked `self` (PAN-OS 10.0+, as pan-os-python's whoami). */
async function whoAmI(firewall: Firewall): Promise<string | undefined> {
  const answer = await firewall.client
    .request({ type: 'op', cmd: '<show><admins></admins></show>' })
    .catch(() => undefined);
  const self = asList(answer?.result?.admins?.entry).find((entry) => entry && 'self' in entry);
  return textOf(self?.admin);
}

/**
 * Refuses to rotate when a node the rotation changes has uncommitted changes: a commit of this admin's changes
 * would carry them (its own) or clash with them (another admin's).
 */
function refuseUncommitted(firewall: Firewall, nodes: [CandidateNode, string][]): void {
  for (const [node, what] of nodes) {
    if (!node.change) continue;
    const { admin, time } = node.change;
    const who =
      admin === firewall.admin || admin === firewall.client.loginUser
        ? 'the credential’s own admin'
        : `admin ${firewall.client.said(admin)}`;
    throw new Error(
      `PAN-OS: ${who} has uncommitted changes to ${what} (${firewall.client.said(node.value ?? 'removed')}${time ? `, since ${time}` : ''}); Ottr changes it, so commit or revert them first`,
    );
  }
}

/** Without a known admin the commit is a full one: refused while anyone has uncommitted changes. */
async function refuseFullCommitOverPendingChanges(firewall: Firewall): Promise<void> {
  if (firewall.admin) return;
  const pending = await firewall.client.request({
    type: 'op',
    cmd: '<check><pending-changes></pending-changes></check>',
  });
  if (textOf(pending.result) === 'yes')
    throw new Error(
      `PAN-OS has uncommitted changes and the admin of the credential ${firewall.client.credentialName} is unknown (PAN-OS ${firewall.version} marks no admin as this session in show admins), so a commit would carry every admin's changes: set connection.username to the key's admin, so that Ottr commits only its own changes`,
    );
}

/**
 * Reachability and the key's rights; finds the admin whose changes this session commits; refuses when the nodes
 * it changes hold uncommitted changes, or when others' changes are pending and it cannot commit around them;
 * records the certificate and profile in use for rollback and cleanup.
 */
async function precheck(firewall: Firewall): Promise<void> {
  const { client, profileXpath } = firewall;
  const info = await client.request({ type: 'op', cmd: '<show><system><info></info></system></show>' });
  firewall.version = textOf(info.result?.system?.['sw-version']) ?? '';
  firewall.admin = (await whoAmI(firewall)) ?? firewall.configuredAdmin;
  const profileName = firewall.options.sslTlsProfile;
  const certificate = await candidateNode(firewall, `${profileXpath}/certificate`, 'certificate');
  const binding = await candidateNode(firewall, BINDING, 'ssl-tls-service-profile');
  refuseUncommitted(firewall, [
    [certificate, `the certificate of SSL/TLS service profile ${profileName}`],
    [binding, 'the SSL/TLS service profile of the management interface'],
  ]);
  await refuseFullCommitOverPendingChanges(firewall);
  firewall.previous = {
    ...(certificate.value ? { certificate: certificate.value } : {}),
    ...(binding.value ? { mgmtProfile: binding.value } : {}),
  };
}

/** The firewall generates the key (signed-by external, every SAN a hostname member); its CSR is exported. */
async function generateCsr(firewall: Firewall, request: CsrRequest): Promise<string> {
  const { client } = firewall;
  const name = certificateName(firewall, request);
  const algorithm =
    request.key.type === 'rsa'
      ? `<RSA><rsa-nbits>${request.key.size ?? 2048}</rsa-nbits></RSA>`
      : `<ECDSA><ecdsa-nbits>${request.key.curve === 'P-384' ? 384 : 256}</ecdsa-nbits></ECDSA>`;
  const hostnames = request.names.map((n) => `<member>${escapeXml(n)}</member>`).join('');
  await whenFree(firewall, 'generate', () =>
    client.request({
      type: 'op',
      cmd: `<request><certificate><generate><algorithm>${algorithm}</algorithm><digest>sha256</digest><certificate-name>${escapeXml(name)}</certificate-name><name>${escapeXml(request.names[0]!)}</name><hostname>${hostnames}</hostname><signed-by>external</signed-by><ca>no</ca></generate></certificate></request>`,
    }),
  );
  const csr = await client.download({
    type: 'export',
    category: 'certificate',
    'certificate-name': name,
    format: 'pkcs10',
    'include-key': 'no',
  });
  const pem = /-----BEGIN CERTIFICATE REQUEST-----[\s\S]+?-----END CERTIFICATE REQUEST-----/.exec(csr)?.[0];
  if (!pem) throw new Error(`PAN-OS exported no CSR for ${name}: ${client.said(csr.slice(0, 200))}`);
  return pem;
}

/** Imports the chain as a multipart PEM file under the rotation's name, next to the key the firewall made. */
async function install(firewall: Firewall, chainPem: string, request: CsrRequest): Promise<InstallReceipt> {
  const { client } = firewall;
  const name = certificateName(firewall, request);
  const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chainPem)?.[0];
  if (!leaf) throw new Error('the issued chain holds no certificate');
  // After the commit the management interface may present this certificate: its key is the firewall's own.
  client.trustInstalled(leaf);
  const boundary = `ottr${Date.now().toString(16)}`;
  const body = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}.pem"\r\nContent-Type: application/x-pem-file\r\n\r\n${chainPem}\r\n--${boundary}--\r\n`,
  );
  await client.request(
    { type: 'import', category: 'certificate', 'certificate-name': name, format: 'pem' },
    { body, contentType: `multipart/form-data; boundary=${boundary}` },
  );
  return { name, previous: firewall.previous };
}

/** Commits; when the commit fails, this session's candidate changes are reverted before the error is thrown. */
async function commitOrRevert(firewall: Firewall, what: string): Promise<void> {
  try {
    await commit(firewall, what);
  } catch (error) {
    const failed = error instanceof Error ? error.message : String(error);
    const reverted = await revertOwnChanges(firewall).catch((e: Error) => {
      throw new Error(`${failed}; reverting Ottr's candidate changes failed too: ${e.message}`);
    });
    firewall.log(
      reverted
        ? `${what}: the commit failed; Ottr's candidate changes were reverted`
        : `${what}: the commit failed; the admin is unknown, so Ottr's candidate changes could not be reverted alone`,
    );
    throw error;
  }
}

/** Binds the certificate to the profile (min TLS 1.2), the management interface to the profile, and commits. */
async function activate(firewall: Firewall, receipt: InstallReceipt): Promise<void> {
  await awaitLocks(firewall, 'config');
  await setConfig(
    firewall,
    firewall.profileXpath,
    `<certificate>${escapeXml(String(receipt.name))}</certificate><protocol-settings><min-version>tls1-2</min-version></protocol-settings>`,
  );
  await setConfig(
    firewall,
    SYSTEM,
    `<ssl-tls-service-profile>${escapeXml(firewall.options.sslTlsProfile)}</ssl-tls-service-profile>`,
  );
  await commitOrRevert(firewall, 'activate');
}

/**
 * Reverts this session's uncommitted changes, then sets back what precheck found: the previous certificate and
 * management profile. Before a first rotation the management interface served its built-in certificate, which is
 * no config object: the binding this rotation added is deleted, so that the built-in certificate is served again.
 * Commits only when something had to change.
 */
async function rollback(firewall: Firewall, receipt: InstallReceipt): Promise<void> {
  const before = receipt.previous as Previous;
  await revertOwnChanges(firewall);
  const certificate = await candidateNode(firewall, `${firewall.profileXpath}/certificate`, 'certificate');
  const binding = await candidateNode(firewall, BINDING, 'ssl-tls-service-profile');
  let changed = false;
  if (before.certificate && certificate.value !== before.certificate) {
    await setConfig(
      firewall,
      firewall.profileXpath,
      `<certificate>${escapeXml(before.certificate)}</certificate>`,
    );
    changed = true;
  }
  if (before.mgmtProfile && binding.value !== before.mgmtProfile) {
    await setConfig(
      firewall,
      SYSTEM,
      `<ssl-tls-service-profile>${escapeXml(before.mgmtProfile)}</ssl-tls-service-profile>`,
    );
    changed = true;
  } else if (!before.mgmtProfile && binding.value) {
    await deleteConfig(firewall, BINDING);
    changed = true;
  }
  if (changed) await commitOrRevert(firewall, 'rollback');
}

/** Deletes the previous certificate and commits. Only certificates this tool created are ever deleted. */
async function cleanup(firewall: Firewall, receipt: InstallReceipt): Promise<void> {
  const old = (receipt.previous as Previous).certificate;
  if (old && old !== receipt.name && old.startsWith(`${firewall.options.certificatePrefix}-`)) {
    await deleteConfig(firewall, certificateXpath(old));
    await commitOrRevert(firewall, 'cleanup');
  }
}

/** Deletes the unused certificate entry, and reverts whatever else of this session's is uncommitted. */
async function discard(firewall: Firewall, request: CsrRequest): Promise<void> {
  await firewall.client
    .request({
      type: 'config',
      action: 'delete',
      xpath: certificateXpath(certificateName(firewall, request)),
    })
    .catch(() => {});
  await revertOwnChanges(firewall).catch(() => {});
}

/**
 * PAN-OS over its XML API: key and CSR generated on the firewall with every SAN, the chain imported under a
 * name unique to the rotation, bound to an SSL/TLS service profile used by the management interface, committed
 * — only this admin's changes, around other admins' locks and commits — with the job polled through the
 * management server's restart and its result checked, reverted when it fails; old certificates deleted only
 * after verification. The API key travels in the X-PAN-KEY header, never in a URL, and a key from keygen is
 * masked the moment it arrives; every answer is checked for `status="error"`, whatever its HTTP status. Messages
 * name the credential, never any part of it.
 */
export const panosDriver: PlatformDriver<PanosOptions> = guardedDriver(
  'panos',
  async (context: DriverContext<PanosOptions>, guard: CredentialGuard): Promise<DriverSession> => {
    const { options, signal } = context;
    const client = await PanosClient.login(context, guard);
    const firewall: Firewall = {
      client,
      options,
      signal,
      log: (message) => context.log(message),
      profileXpath: `/config/shared/ssl-tls-service-profile/entry[@name='${escapeXml(options.sslTlsProfile)}']`,
      previous: {},
      admin: undefined,
      configuredAdmin: context.device.connection?.username ?? client.loginUser,
      version: '',
    };
    return {
      precheck: () => precheck(firewall),
      generateCsr: (request) => generateCsr(firewall, request),
      install: (chainPem, request) => install(firewall, chainPem, request),
      activate: (receipt) => activate(firewall, receipt),
      rollback: (receipt) => rollback(firewall, receipt),
      cleanup: (receipt) => cleanup(firewall, receipt),
      discard: (request) => discard(firewall, request),
      tlsEndpoint: () => client.tlsEndpoint(),
      async close() {},
    };
  },
);
