import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PLATFORMS = [
  {
    host_platform: 'panos',
    os_version: '10.2.4',
    device_model: 'PA-3220',
    connection: '  credentials: PANOS_API_KEY\n',
  },
  {
    host_platform: 'f5',
    os_version: '16.1.3',
    device_model: 'BIG-IP i5800',
    connection: '  credentials: F5_ADMIN\n',
  },
  { host_platform: 'lighthouse', os_version: '23.10.2', connection: '  credentials: LIGHTHOUSE_ADMIN\n' },
  {
    host_platform: 'linux',
    os_version: '12',
    connection:
      '  credentials: LINUX_SSH_KEY\n  ssh_host_key: "SHA256:q5mZ3VnY8sWk0pX2rL9tB4cD7fG1hJ6kM8nP0rS3uVw"\n',
  },
  {
    host_platform: 'linux',
    os_version: '2023',
    device_model: 'ec2',
    connection: '  instance_id: i-0a1b2c3d4e5f60718\n',
  },
];

const DAY = 86_400_000;

/** Half the fleet on each authority, except Lighthouse, which makes only RSA keys: never the ECDSA authority. */
function authorityFor(i: number, platform: string): string {
  if (platform === 'lighthouse') return 'corp_ca';
  return i % 2 === 0 ? 'lets_encrypt' : 'corp_ca';
}

function iso(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** A realistic device file (comments, SANs, certificate block) for device number i. */
export function deviceYaml(i: number, dataCenter: string, now: number): string {
  const p = PLATFORMS[i % PLATFORMS.length]!;
  const name = `dev-${String(i).padStart(6, '0')}`;
  const lifetime = 90 * DAY;
  const age = ((i * 7919) % 100) * DAY; // spread: some fresh, some expiring, some expired
  const notBefore = now - age;
  const lines = [
    '# yaml-language-server: $schema=../../schemas/device.schema.json',
    `# Generated benchmark device ${i}.`,
    `system_name: ${name}`,
    `common_name: ${name}.${dataCenter}.example.com`,
    'subject_alternative_names:',
    `  - ${name}-alt.${dataCenter}.example.com`,
    `host_platform: ${p.host_platform}`,
    `os_version: "${p.os_version}"`,
    ...(p.device_model ? [`device_model: ${p.device_model}`] : []),
    `data_center: ${dataCenter}`,
    `ip_address: 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    `certificate_authority: ${authorityFor(i, p.host_platform)}`,
    'connection:',
    p.connection.trimEnd(),
    'owner: netops@example.com',
  ];
  if (i % 50 !== 0) {
    lines.push(
      'certificate:',
      `  not_before: "${iso(notBefore)}"`,
      `  not_after: "${iso(notBefore + lifetime)}"`,
      '  serial: "04f1a9c0d2b35e7a8c61e0b9d4f27a1c3e5b"',
      `  issuer: "CN=E7,O=Let's Encrypt,C=US"`,
      '  sha256_fingerprint: "3A:1F:9C:22:7B:E4:05:D1:6A:88:0C:4E:B2:91:7F:3D:55:A0:C8:19:E6:4B:72:0D:9F:13:A7:C5:28:6E:B4:01"',
      `  rotated_at: "${iso(notBefore + 3_600_000)}"`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const CENTERS = Array.from({ length: 20 }, (_, i) => `dc${String(i).padStart(2, '0')}`);

/** The sample settings with the generated fleet's 20 data centers declared: runners, credentials and names. */
function benchSettings(sample: string): string {
  const base = sample
    .replace(
      /\nrunners:\n(?: {2}.*\n)+/,
      `\nrunners:\n  by_data_center:\n${CENTERS.map((dc) => `    ${dc}: [self-hosted, ${dc}]`).join('\n')}\n`,
    )
    .replace(/\n# The trust boundary\.[\s\S]*$/, '\n');
  const all = `[${CENTERS.join(', ')}]`;
  return `${base}secrets:
  LE_ACCOUNT_KEY: { purpose: acme_account }
  CORP_CA_ACCOUNT_KEY: { purpose: acme_account }
  CORP_CA_EAB_KID: { purpose: eab }
  CORP_CA_EAB_HMAC: { purpose: eab }
  SLACK_WEBHOOK_URL: { purpose: notification }
${['PANOS_API_KEY', 'F5_ADMIN', 'LIGHTHOUSE_ADMIN', 'LINUX_SSH_KEY'].map((n) => `  ${n}: { purpose: device_credential, data_centers: ${all} }`).join('\n')}
names:
${CENTERS.map((dc) => `  ${dc}: { suffixes: [${dc}.example.com] }`).join('\n')}
`;
}

/** Writes (once, then reuses) a repository with `count` devices spread over 20 data centers. */
export function generateRepository(root: string, count: number, now: number, projectRoot: string): string {
  const dir = join(root, `inventory-v3-${count}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(projectRoot, 'routing'), join(dir, 'routing'), { recursive: true });
  cpSync(join(projectRoot, 'schemas'), join(dir, 'schemas'), { recursive: true });
  writeFileSync(
    join(dir, 'routing/settings.yaml'),
    benchSettings(readFileSync(join(projectRoot, 'routing/settings.yaml'), 'utf8')),
  );
  for (let i = 0; i < count; i++) {
    const dataCenter = `dc${String(i % 20).padStart(2, '0')}`;
    const folder = join(dir, 'inventory', dataCenter);
    if (i < 20) mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `dev-${String(i).padStart(6, '0')}.yaml`), deviceYaml(i, dataCenter, now));
  }
  writeFileSync(join(dir, '.complete'), '');
  return dir;
}
