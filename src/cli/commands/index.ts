import type { Command } from '../command.ts';

/**
 * One row of the command table: what `ottr --help` lists, and how to load the command. Each command's module
 * (and whatever it imports: the AWS SDK, ssh2, acme-client) is loaded only when that command runs or shows its
 * --help, so `ottr --help` and `ottr --version` load none of them. The summary is repeated here so the overview
 * needs no module; test/unit/cli-help.test.ts checks it is the command's own.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

/** Every sub-command, in the order `ottr --help` lists them. */
export const commands: readonly CommandEntry[] = [
  {
    name: 'validate',
    summary: 'check inventory, routes and settings against the schemas and rules',
    load: async () => (await import('./validate.ts')).validateCommand,
  },
  {
    name: 'plan',
    summary: 'decide which devices are due and build the job matrix',
    load: async () => (await import('./plan.ts')).planCommand,
  },
  {
    name: 'rotate',
    summary: 'rotate one device (--device) or a shard of devices (--shard)',
    load: async () => (await import('./rotate.ts')).rotateCommand,
  },
  {
    name: 'apply-results',
    summary: 'write rotated certificates from result files into the device files',
    load: async () => (await import('./apply-results.ts')).applyResultsCommand,
  },
  {
    name: 'show',
    summary: 'show one device: route, due status, certificate, DNS records, problems',
    load: async () => (await import('./show.ts')).showCommand,
  },
  {
    name: 'status',
    summary: 'fleet report: expiry, days left and state of every device; also a dashboard',
    load: async () => (await import('./status.ts')).statusCommand,
  },
  {
    name: 'dns-records',
    summary: 'print the _acme-challenge CNAMEs the inventory needs (zone-file form)',
    load: async () => (await import('./dns-records.ts')).dnsRecordsCommand,
  },
  {
    name: 'secrets',
    summary: 'list the secret names each GitHub environment needs, and which are missing',
    load: async () => (await import('./secrets.ts')).secretsCommand,
  },
  {
    name: 'check-workflows',
    summary: 'check the workflows against the hardening rules (pinned actions, permissions, …)',
    load: async () => (await import('./check-workflows.ts')).checkWorkflowsCommand,
  },
  {
    name: 'import-ottr',
    summary: "convert Ottr's route.json and DynamoDB asset export into routes and device files",
    load: async () => (await import('./import-ottr.ts')).importOttrCommand,
  },
  {
    name: 'onboard',
    summary: 'write a new device file (flags or questions), checked, with the DNS records to create',
    load: async () => (await import('./onboard.ts')).onboardCommand,
  },
  {
    name: 'sync',
    summary: 'propose device files from AWS SSM or a CMDB export (new, updated, vanished)',
    load: async () => (await import('./sync.ts')).syncCommand,
  },
  {
    name: 'acme',
    summary: 'ACME account management: acme register --authority NAME',
    load: async () => (await import('./acme.ts')).acmeCommand,
  },
];
