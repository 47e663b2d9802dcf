import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeRepo, runCli, type TempRepo } from '../helpers/cli.ts';

let repo: TempRepo | undefined;
afterEach(() => {
  repo?.cleanup();
  repo = undefined;
});

interface Listing {
  environments: {
    environment: string;
    data_center?: string;
    secrets: { name: string; purpose: string; used_by: string[]; present?: boolean }[];
  }[];
}

describe('ottr secrets', () => {
  it('lists per environment the names it must hold: a data center its own credentials, the report no device credential', async () => {
    repo = makeRepo({ withSampleInventory: true });
    const run = await runCli(['secrets', '--root', repo.root, '--format', 'json']);
    expect(run.code, run.output).toBe(0);
    const { environments } = JSON.parse(run.stdout) as Listing;
    expect(environments.map((e) => e.environment)).toEqual([
      'pki-ams2',
      'pki-sfo1',
      'pki-report',
      'pki-sync',
    ]);
    const names = (env: string) =>
      environments.find((e) => e.environment === env)!.secrets.map((s) => s.name);
    expect(names('pki-sfo1')).toEqual([
      'CORP_CA_ACCOUNT_KEY',
      'CORP_CA_EAB_HMAC',
      'CORP_CA_EAB_KID',
      'F5_SFO1_ADMIN',
      'LE_ACCOUNT_KEY',
      'LIGHTHOUSE_SFO1_ADMIN',
      'LINUX_SSH_KEY',
      'PANOS_SFO1_API_KEY',
    ]);
    expect(names('pki-ams2')).toEqual([
      'F5_AMS2_ADMIN',
      'LE_ACCOUNT_KEY',
      'LIGHTHOUSE_AMS2_ADMIN',
      'PANOS_AMS2_API_KEY',
    ]);
    expect(names('pki-report')).toEqual(['OTTR_APP_PRIVATE_KEY', 'SLACK_WEBHOOK_URL']);
    expect(names('pki-sync')).toEqual(['OTTR_APP_PRIVATE_KEY']);
    const panos = environments[1]!.secrets.find((s) => s.name === 'PANOS_SFO1_API_KEY')!;
    expect(panos).toEqual({
      name: 'PANOS_SFO1_API_KEY',
      purpose: 'device_credential',
      used_by: ['fw-sfo1-01', 'fw-sfo1-02'],
    });
  });

  it('names what is missing when given the values, and never prints a value', async () => {
    repo = makeRepo({ withSampleInventory: true });
    const values = {
      LE_ACCOUNT_KEY: 'value-le-4c1d',
      PANOS_SFO1_API_KEY: 'value-panos-9e2a',
      SLACK_WEBHOOK_URL: 'https://hooks.invalid/x',
    };
    writeFileSync(join(repo.root, 'secrets.json'), JSON.stringify(values));
    const run = await runCli(['secrets', '--root', repo.root, '--secrets-file', 'secrets.json'], repo.root);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^ {2}PANOS_SFO1_API_KEY +device_credential +present +used by fw-sfo1-01, fw-sfo1-02$/m,
    );
    expect(run.stdout).toMatch(/^ {2}F5_SFO1_ADMIN +device_credential +MISSING +used by lb-sfo1-01$/m);
    expect(run.stdout).toMatch(/\d+ missing \(checked against file .*secrets.json\)/);
    for (const value of Object.values(values)) expect(run.output).not.toContain(value);
  });

  it('checks per environment with --present ENV=NAMES, as gh secret list prints them', async () => {
    repo = makeRepo({ withSampleInventory: true });
    const run = await runCli(
      [
        'secrets',
        '--root',
        repo.root,
        '--format',
        'json',
        '--present',
        'pki-ams2=F5_AMS2_ADMIN,LE_ACCOUNT_KEY,LIGHTHOUSE_AMS2_ADMIN,PANOS_AMS2_API_KEY',
        // In the wrong environment: sfo1's credential held by pki-ams2 does not count for pki-sfo1.
        '--present',
        'pki-ams2=PANOS_SFO1_API_KEY',
      ],
      repo.root,
    );
    expect(run.code).toBe(1);
    const { environments } = JSON.parse(run.stdout) as Listing;
    expect(environments[0]!.secrets.every((s) => s.present === true)).toBe(true);
    expect(environments[1]!.secrets.find((s) => s.name === 'PANOS_SFO1_API_KEY')!.present).toBe(false);
  });

  it('usage errors exit 2', async () => {
    const run = await runCli(['secrets', '--secrets-file', 'a.json', '--present', 'X']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/give one of --secrets-file, --secrets-env-prefix or --present/);
  });
});
