/** What a person has to do outside the repository once a device file is written. */
import { neededRecords, zoneFileLines } from '../dns/records.ts';
import type { Device, Settings } from '../model/types.ts';
import { platformInfo } from '../platforms/registry.ts';

/** Where the management interface is reached: ip_address, else common_name. */
function host(device: Device): string {
  return device.ip_address ?? device.common_name;
}

/** The `_acme-challenge` CNAMEs the device's names need, in zone-file form. */
export function challengeRecordLines(device: Device, settings: Settings, ttl = 3600): string[] {
  return zoneFileLines(neededRecords([device], settings.dns.delegate_zone), ttl);
}

/** The command that reads an SSH host's key fingerprint, to pin it in connection.ssh_host_key. */
export function sshKeyscanCommand(device: Device): string {
  return `ssh-keyscan -p ${device.connection?.port ?? 22} ${host(device)} | ssh-keygen -lf -`;
}

/** The command that prints the base64 SHA-256 of a management TLS key, for connection.tls_spki_sha256. */
export function spkiPinCommand(device: Device): string {
  const target = `${host(device)}:${device.connection?.port ?? 443}`;
  return `openssl s_client -connect ${target} </dev/null | openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`;
}

export const SSH_HOST_KEY_HELP = (device: Device) =>
  [
    'connection.ssh_host_key pins the host key (no trust on first use). From a network you trust, read it with',
    `  ${sshKeyscanCommand(device)}`,
    'and compare it with the key on the host itself (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub);',
    'pass the SHA256:… value with --ssh-host-key.',
  ].join('\n');

export const SPKI_HELP = (device: Device) =>
  [
    'certificate_validation is false: the management certificate is not trusted yet, so its key is pinned with',
    'connection.tls_spki_sha256 (the base64 SHA-256 of its SubjectPublicKeyInfo). Read it with',
    `  ${spkiPinCommand(device)}`,
    'from a network you trust, check it against the device console, and pass it with --tls-spki-sha256.',
  ].join('\n');

/** The transport of the driver a platform name stands for, when the registry knows it. */
export function transportOf(platform: string | undefined): string | undefined {
  return platform ? platformInfo(platform)?.transport : undefined;
}

/** Everything to print after the file is written: DNS records, pins to double-check, the pull request. */
export function afterOnboardingLines(
  device: Device,
  file: string,
  settings: Settings,
  platform: string | undefined,
): string[] {
  const lines: string[] = [
    '',
    `DNS: create these CNAMEs once, each in its name's own zone (delegate zone ${settings.dns.delegate_zone}):`,
    ...challengeRecordLines(device, settings).map((l) => `  ${l}`),
  ];
  const transport = transportOf(platform);
  if (transport === 'ssh') {
    lines.push(
      '',
      `SSH: the pinned host key is ${device.connection?.ssh_host_key ?? '(none)'}; it must match what`,
      `  ${sshKeyscanCommand(device)}`,
      'prints from a network you trust, and the key on the host itself.',
    );
  }
  if (transport === 'https' && device.certificate_validation === false) {
    lines.push(
      '',
      `TLS: certificate_validation is false, so the management key is pinned (tls_spki_sha256 ${device.connection?.tls_spki_sha256 ?? '(none)'}).`,
      'Re-read the pin with',
      `  ${spkiPinCommand(device)}`,
      'After the first rotation the device serves a trusted certificate; then drop the pin and certificate_validation.',
    );
  }
  const branch = `onboard/${device.system_name}`;
  lines.push(
    '',
    'next: propose it through a pull request (the validate workflow checks it and shows the plan):',
    `  git switch -c ${branch}`,
    `  git add ${file}`,
    `  git commit -m "onboard ${device.system_name}"`,
    `  git push -u origin ${branch}`,
  );
  return lines;
}
