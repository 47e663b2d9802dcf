/**
 * Discovery from AWS Systems Manager: every managed instance (DescribeInstanceInformation, paginated) with its
 * tags, and the pure mapping from an instance and its `ottr:` tags to a candidate device.
 *
 * DescribeInstanceInformation returns no tags. Where they live depends on the instance: an EC2 instance (`i-…`)
 * carries EC2 tags, read with EC2 DescribeTags in batches of 200 ids; a hybrid node (`mi-…`) carries SSM tags,
 * read with ListTagsForResource (ResourceType ManagedInstance), which refuses EC2 ids.
 */

import { DescribeTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeInstanceInformationCommand,
  type InstanceInformation,
  ListTagsForResourceCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { NAME_PATTERN } from '../model/names.ts';
import type { Device } from '../model/types.ts';
import { awsProxyOptions } from '../net/agents.ts';
import { splitNames } from '../onboard/fields.ts';
import type { Candidate, PlanOptions } from './sync-plan.ts';

export interface ManagedInstance {
  id: string;
  /** Online, ConnectionLost, Inactive. */
  pingStatus: string;
  platformName?: string;
  platformVersion?: string;
  ipAddress?: string;
  tags: Record<string, string>;
  /** Why the tags could not be read. */
  tagError?: string;
}

export interface ListOptions {
  /** DescribeInstanceInformation MaxResults (5–50). */
  pageSize?: number;
  /** ListTagsForResource calls in flight at once. */
  concurrency?: number;
}

function fromInformation(info: InstanceInformation): ManagedInstance {
  const instance: ManagedInstance = {
    id: info.InstanceId!,
    pingStatus: info.PingStatus ?? 'Unknown',
    tags: {},
  };
  if (info.PlatformName) instance.platformName = info.PlatformName;
  if (info.PlatformVersion) instance.platformVersion = info.PlatformVersion;
  if (info.IPAddress) instance.ipAddress = info.IPAddress;
  return instance;
}

/** Every managed instance the credentials see in the client's region, with its tags. */
export async function listManagedInstances(
  clients: AwsClients,
  options: ListOptions = {},
): Promise<ManagedInstance[]> {
  const instances: ManagedInstance[] = [];
  let token: string | undefined;
  do {
    const page = await clients.ssm.send(
      new DescribeInstanceInformationCommand({
        MaxResults: options.pageSize ?? 50,
        ...(token ? { NextToken: token } : {}),
      }),
    );
    for (const info of page.InstanceInformationList ?? [])
      if (info.InstanceId) instances.push(fromInformation(info));
    token = page.NextToken;
  } while (token);

  const ec2Instances = instances.filter((i) => i.id.startsWith('i-'));
  for (let at = 0; at < ec2Instances.length; at += 200) {
    const batch = ec2Instances.slice(at, at + 200);
    const byId = new Map(batch.map((i) => [i.id, i]));
    let next: string | undefined;
    try {
      do {
        const page = await clients.ec2.send(
          new DescribeTagsCommand({
            Filters: [
              { Name: 'resource-type', Values: ['instance'] },
              { Name: 'resource-id', Values: batch.map((i) => i.id) },
            ],
            MaxResults: 1000,
            ...(next ? { NextToken: next } : {}),
          }),
        );
        for (const tag of page.Tags ?? []) {
          const instance = tag.ResourceId ? byId.get(tag.ResourceId) : undefined;
          if (instance && tag.Key) instance.tags[tag.Key] = tag.Value ?? '';
        }
        next = page.NextToken;
      } while (next);
    } catch (error) {
      const reason = `EC2 cannot read its tags (${(error as Error).name}: ${(error as Error).message})`;
      for (const instance of batch) instance.tagError = reason;
    }
  }

  const hybrid = instances.filter((i) => !i.id.startsWith('i-'));
  let next = 0;
  const worker = async () => {
    while (next < hybrid.length) {
      const instance = hybrid[next++]!;
      try {
        const { TagList } = await clients.ssm.send(
          new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: instance.id }),
        );
        for (const tag of TagList ?? []) if (tag.Key) instance.tags[tag.Key] = tag.Value ?? '';
      } catch (error) {
        const name = (error as Error).name;
        if (name !== 'InvalidResourceId' && name !== 'InvalidResourceType') throw error;
        instance.tagError = `SSM cannot read its tags (${name}: ${(error as Error).message})`;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  return instances.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export interface SsmMapping {
  /** The prefix of the tags read (default `ottr:`). */
  tagPrefix: string;
  /** Written to connection.region of new devices; also limits which devices can be reported vanished. */
  region?: string;
}

export const DEFAULT_TAG_PREFIX = 'ottr:';

const REQUIRED_TAGS = ['common_name', 'data_center', 'certificate_authority'] as const;

const dnsName = (value: string) => value.trim().toLowerCase().replace(/\.$/, '');

/**
 * An instance as a candidate device: host_platform linux, device_model ec2 (the routing rule for Linux through
 * SSM), os_version from the agent's PlatformVersion, connection.instance_id; the rest from the tags.
 * system_name: the `system_name` tag, else the `Name` tag when it is a valid name, else the common name's first
 * label. On an existing device only the tagged fields change.
 */
export function instanceCandidate(instance: ManagedInstance, mapping: SsmMapping): Candidate {
  const tag = (name: string): string | undefined => {
    const value = instance.tags[`${mapping.tagPrefix}${name}`]?.trim();
    return value ? value : undefined;
  };
  const candidate: Candidate = {
    ref: instance.id,
    fields: {},
    owned: [],
    identity: { instance_id: instance.id },
    missing: [],
    invalid: [],
  };
  if (instance.pingStatus !== 'Online') candidate.gone = `is ${instance.pingStatus} in SSM`;
  if (instance.tagError) candidate.invalid.push(instance.tagError);
  for (const name of REQUIRED_TAGS) if (!tag(name)) candidate.missing.push(`tag ${mapping.tagPrefix}${name}`);
  if (!instance.platformVersion) candidate.missing.push('PlatformVersion (the SSM agent reported none)');

  const commonName = tag('common_name') ? dnsName(tag('common_name')!) : undefined;
  const explicitName = tag('system_name')?.toLowerCase();
  const nameTag = instance.tags.Name?.trim().toLowerCase();
  const systemName =
    explicitName ??
    (nameTag && NAME_PATTERN.test(nameTag) ? nameTag : undefined) ??
    commonName?.split('.')[0]?.replace(/^\*$/, '');
  if (explicitName) candidate.identity.system_name = explicitName;
  if (commonName) candidate.identity.common_name = commonName;

  const fields: Partial<Device> = {};
  if (systemName) fields.system_name = systemName;
  if (commonName) fields.common_name = commonName;
  const sans = splitNames([tag('san') ?? ''])
    .map(dnsName)
    .filter((n) => n !== commonName);
  if (sans.length > 0) fields.subject_alternative_names = [...new Set(sans)];
  fields.host_platform = 'linux';
  if (instance.platformVersion) fields.os_version = instance.platformVersion;
  fields.device_model = 'ec2';
  const dataCenter = tag('data_center')?.toLowerCase();
  if (dataCenter) fields.data_center = dataCenter;
  const authority = tag('certificate_authority');
  if (authority) fields.certificate_authority = authority;
  fields.connection = { instance_id: instance.id, ...(mapping.region ? { region: mapping.region } : {}) };
  const owner = tag('owner');
  if (owner) fields.owner = owner;
  candidate.fields = fields;
  candidate.owned = [
    ['common_name'],
    ['subject_alternative_names'],
    ['data_center'],
    ['certificate_authority'],
    ['owner'],
  ].filter(([field]) => {
    const tagName = field === 'subject_alternative_names' ? 'san' : field!;
    return tag(tagName) !== undefined;
  });
  return candidate;
}

/** Which inventory devices SSM answers for: those naming an instance id (in the region, when one is given). */
export function ssmPlanOptions(region: string | undefined): PlanOptions {
  return {
    source: 'aws-ssm',
    claims: (device) =>
      device.connection?.instance_id !== undefined &&
      (!region || !device.connection.region || device.connection.region === region),
    vanishedReason: (device) =>
      `instance ${device.connection?.instance_id} is no longer managed by SSM${region ? ` in ${region}` : ''}`,
  };
}

/**
 * An SSM client for `region`. AWS_ENDPOINT_URL_SSM (the SDK's own variable) points it elsewhere, as the lab does;
 * credentials come from `env` when it holds keys, else from the SDK's usual chain (OIDC role, profile, IMDS).
 */
export interface AwsClients {
  ssm: SSMClient;
  ec2: EC2Client;
  destroy(): void;
}

/** SSM and EC2 clients for a region; AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL_EC2 point them elsewhere. */
export function awsClientsFor(region: string, env: NodeJS.ProcessEnv): AwsClients {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN } = env;
  const common = {
    region,
    ...awsProxyOptions(env),
    ...(accessKeyId && secretAccessKey
      ? {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(AWS_SESSION_TOKEN ? { sessionToken: AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
  };
  const ssm = new SSMClient({
    ...common,
    ...(env.AWS_ENDPOINT_URL_SSM ? { endpoint: env.AWS_ENDPOINT_URL_SSM } : {}),
  });
  const ec2 = new EC2Client({
    ...common,
    ...(env.AWS_ENDPOINT_URL_EC2 ? { endpoint: env.AWS_ENDPOINT_URL_EC2 } : {}),
  });
  return {
    ssm,
    ec2,
    destroy() {
      ssm.destroy();
      ec2.destroy();
    },
  };
}

/** The region to ask: the flag or input, else AWS_REGION / AWS_DEFAULT_REGION. */
export function regionFrom(value: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return value || env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
}
