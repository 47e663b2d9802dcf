import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderDeviceYaml } from '../../src/model/render-device.ts';
import type { Device } from '../../src/model/types.ts';

const devices: Device[] = [
  {
    system_name: 'fw1',
    common_name: 'fw1.example.com',
    subject_alternative_names: ['*.app.example.com', 'yes.example.com'],
    host_platform: 'panos',
    os_version: '10.2',
    data_center: 'sfo1',
    certificate_authority: 'lets_encrypt',
    connection: { credentials: 'PANOS_API_KEY', port: 443 },
    labels: { rack: '0123', flag: 'yes', empty: '' },
    certificate: {
      not_after: '2026-01-01T00:00:00Z',
      serial: '0123',
      renewal_window: { start: '2025-12-01T00:00:00Z', end: '2025-12-03T00:00:00Z' },
    },
  },
  {
    system_name: 'web1',
    common_name: 'web1.example.com',
    host_platform: 'linux',
    os_version: '12',
    data_center: 'ams2',
    certificate_authority: 'corp_ca',
    certificate_validation: false,
    owner: 'team: sre # on call',
    connection: { ssh_host_key: 'SHA256:q5mZ3VnY8sWk0pX2rL9tB4cD7fG1hJ6kM8nP0rS3uVw', sudo: true },
  },
];

describe('renderDeviceYaml', () => {
  it.each(devices)('round-trips $system_name', (device) => {
    for (const comments of [false, true]) {
      const text = renderDeviceYaml(device, { comments });
      expect(text.startsWith('# yaml-language-server: $schema=../../schemas/device.schema.json\n')).toBe(
        true,
      );
      expect(parse(text, { schema: 'core' })).toEqual(device);
    }
  });

  it('quotes versions and dates, and writes fields in the documented order', () => {
    const text = renderDeviceYaml(devices[0]!);
    expect(text).toContain('os_version: "10.2"');
    expect(text).toContain('not_after: "2026-01-01T00:00:00Z"');
    const keys = text
      .split('\n')
      .filter((l) => /^[a-z_]+:/.test(l))
      .map((l) => l.split(':')[0]);
    expect(keys).toEqual([
      'system_name',
      'common_name',
      'subject_alternative_names',
      'host_platform',
      'os_version',
      'data_center',
      'certificate_authority',
      'connection',
      'labels',
      'certificate',
    ]);
  });

  it('explains the fields when asked', () => {
    expect(renderDeviceYaml(devices[0]!, { comments: true })).toMatch(
      /# credentials names a secret; it never holds the secret itself\nconnection:/,
    );
  });
});
