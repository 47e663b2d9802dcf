/**
 * What validation and planning need to know about each platform driver, before any driver code runs.
 * The driver implementations live beside this file, one folder per platform.
 */
export type Transport = 'https' | 'ssh' | 'ssm';

export interface PlatformInfo {
  name: string;
  title: string;
  transport: Transport;
  /** Fields of a device's `connection` this platform reads. Others are reported as not applicable. */
  connectionFields: readonly string[];
  /** Fields of `connection` that must be present. */
  requiredConnection: readonly string[];
  /** Key types the device can generate itself; absent = RSA and ECDSA. */
  keyTypes?: readonly ('rsa' | 'ecdsa')[];
}

const HTTPS_FIELDS = ['port', 'tls_port', 'credentials', 'username', 'tls_spki_sha256'] as const;

export const PLATFORMS: readonly PlatformInfo[] = [
  {
    name: 'panos',
    title: 'Palo Alto Networks PAN-OS (XML API)',
    transport: 'https',
    connectionFields: HTTPS_FIELDS,
    requiredConnection: ['credentials'],
  },
  {
    name: 'f5',
    title: 'F5 BIG-IP (iControl REST)',
    transport: 'https',
    connectionFields: HTTPS_FIELDS,
    requiredConnection: ['credentials'],
  },
  {
    name: 'lighthouse',
    title: 'Opengear Lighthouse (REST v3.7)',
    transport: 'https',
    connectionFields: HTTPS_FIELDS,
    requiredConnection: ['credentials'],
    keyTypes: ['rsa'],
  },
  {
    name: 'linux-ssh',
    title: 'Linux over SSH',
    transport: 'ssh',
    connectionFields: [
      'port',
      'tls_port',
      'credentials',
      'passphrase_credentials',
      'username',
      'ssh_host_key',
      'sudo',
    ],
    requiredConnection: ['credentials', 'ssh_host_key'],
  },
  {
    name: 'linux-ssm',
    title: 'Linux over AWS Systems Manager',
    transport: 'ssm',
    connectionFields: ['tls_port', 'instance_id', 'instance_tag', 'region', 'sudo'],
    requiredConnection: [],
  },
];

const byName = new Map(PLATFORMS.map((p) => [p.name, p]));

export function platformInfo(name: string): PlatformInfo | undefined {
  return byName.get(name);
}
