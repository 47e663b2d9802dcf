import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { sleep } from '../../util/sleep.ts';
import type { DriverContext, DriverSession, PlatformDriver } from '../contract.ts';
import type { LinuxOptions } from '../shared/linux-options.ts';
import { linuxSession } from '../shared/linux-steps.ts';

const OUTPUT_LIMIT = 24_000; // GetCommandInvocation returns at most this much stdout inline
const RETRYABLE = new Set(['ThrottlingException', 'Throttling', 'TooManyUpdates', 'RequestLimitExceeded']);

export interface SsmDriverOptions {
  endpoint?: string;
  /** Backoff base for throttling and polling. */
  baseDelayMs?: number;
  commandTimeoutSeconds?: number;
}

/** Linux through AWS Systems Manager Run Command (`AWS-RunShellScript`): no inbound SSH needed. */
export function linuxSsmDriver(driverOptions: SsmDriverOptions = {}): PlatformDriver<LinuxOptions> {
  return {
    name: 'linux-ssm',
    async connect(context: DriverContext<LinuxOptions>): Promise<DriverSession> {
      const { device, options, signal } = context;
      const connection = device.connection ?? {};
      const endpoint = driverOptions.endpoint ?? process.env.AWS_ENDPOINT_URL_SSM;
      const client = new SSMClient({
        maxAttempts: 1, // throttling is retried here, with backoff and jitter
        ...(connection.region ? { region: connection.region } : {}),
        ...(endpoint ? { endpoint } : {}),
      });
      const base = driverOptions.baseDelayMs ?? 200;

      async function call<T>(what: string, send: () => Promise<T>): Promise<T> {
        for (let attempt = 1; ; attempt++) {
          try {
            return await send();
          } catch (error) {
            const name = (error as { name?: string }).name ?? '';
            if (!RETRYABLE.has(name) || attempt >= 8)
              throw new Error(`SSM ${what}: ${name}: ${(error as Error).message}`);
            const delay = Math.random() * Math.min(10_000, base * 2 ** attempt);
            context.log(`SSM ${what} throttled; retrying in ${Math.round(delay)} ms`);
            await sleep(delay, signal);
          }
        }
      }

      let instanceId = connection.instance_id;
      if (!instanceId) {
        const tag = connection.instance_tag;
        if (!tag) throw new Error('connection.instance_id or connection.instance_tag is required');
        const found = await call('DescribeInstanceInformation', () =>
          client.send(
            new DescribeInstanceInformationCommand({
              Filters: [{ Key: `tag:${tag.key}`, Values: [tag.value] }],
            }),
            { abortSignal: signal },
          ),
        );
        const online = (found.InstanceInformationList ?? []).filter((i) => i.PingStatus === 'Online');
        if (online.length !== 1) {
          throw new Error(
            `the tag ${tag.key}=${tag.value} must match exactly one Online instance; it matches ${online.length}`,
          );
        }
        instanceId = online[0]!.InstanceId!;
      }
      const target = instanceId;

      async function run(step: string, script: string): Promise<string> {
        const sent = await call('SendCommand', () =>
          client.send(
            new SendCommandCommand({
              DocumentName: 'AWS-RunShellScript',
              InstanceIds: [target],
              TimeoutSeconds: driverOptions.commandTimeoutSeconds ?? 240,
              Comment: `ottr ${step}`.slice(0, 100),
              Parameters: { commands: [script] },
            }),
            { abortSignal: signal },
          ),
        );
        const commandId = sent.Command!.CommandId!;
        for (let delay = 100; ; delay = Math.min(delay * 2, 3000)) {
          await sleep(delay, signal);
          let out: GetCommandInvocationCommandOutput;
          try {
            out = await client.send(
              new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: target }),
              { abortSignal: signal },
            );
          } catch (error) {
            const name = (error as { name?: string }).name ?? '';
            if (name === 'InvocationDoesNotExist' || RETRYABLE.has(name)) continue; // not registered yet, or throttled
            throw new Error(`SSM GetCommandInvocation: ${name}: ${(error as Error).message}`);
          }
          const status = out.Status;
          if (status === 'Pending' || status === 'InProgress' || status === 'Delayed') continue;
          const stdout = out.StandardOutputContent ?? '';
          context.audit?.(stdout + (out.StandardErrorContent ?? ''));
          if (status !== 'Success') {
            throw new Error(
              `${step} failed on ${target} (${status}, exit ${out.ResponseCode}): ${(out.StandardErrorContent ?? '').trim().slice(0, 500)}`,
            );
          }
          if (stdout.length >= OUTPUT_LIMIT)
            throw new Error(
              `${step} output on ${target} reached SSM's ${OUTPUT_LIMIT}-character limit and was cut`,
            );
          return stdout;
        }
      }

      return linuxSession(options, connection.sudo === true, {
        run,
        stdin: false,
        endpoint: {
          host: device.ip_address ?? device.common_name,
          port: connection.tls_port ?? 443,
          servername: device.common_name,
        },
        close: async () => {
          client.destroy();
        },
      });
    },
  };
}
