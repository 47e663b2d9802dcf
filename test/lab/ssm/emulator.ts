import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface LabInstance {
  id: string;
  tags: Record<string, string>;
  online: boolean;
  /** Working directory the instance's shell runs in. */
  dir: string;
  /** What the agent reports as PlatformVersion (default "12"). */
  platformVersion?: string;
  ipAddress?: string;
}

interface Invocation {
  commandId: string;
  instanceId: string;
  status: 'Pending' | 'InProgress' | 'Success' | 'Failed' | 'TimedOut';
  responseCode: number;
  stdout: string;
  stderr: string;
  polls: number;
}

const STDOUT_LIMIT = 24_000; // what GetCommandInvocation returns inline
const STDERR_LIMIT = 8_000;

/**
 * The AWS Systems Manager API subset a Run Command rotation and discovery use (JSON 1.1 protocol: SendCommand,
 * GetCommandInvocation, DescribeInstanceInformation with MaxResults/NextToken pages, ListTagsForResource for
 * ResourceType ManagedInstance — hybrid nodes only, as in AWS; EC2 instances' tags are in test/lab/ec2), executing AWS-RunShellScript commands with a real shell in
 * the instance's directory. Errors have SSM's shape (`__type`, `message`); throttling can be injected.
 */
export class SsmEmulator {
  private server: Server | undefined;
  port = 0;
  readonly instances: LabInstance[] = [];
  readonly requests: string[] = [];
  readonly scripts: string[] = [];
  private readonly invocations = new Map<string, Invocation>();
  private throttle = 0;

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  throttleNext(count: number): void {
    this.throttle += count;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const send = (status: number, payload: unknown) => {
          res.writeHead(status, {
            'content-type': 'application/x-amz-json-1.1',
            'x-amzn-requestid': randomUUID(),
          });
          res.end(JSON.stringify(payload));
        };
        const fail = (type: string, message: string, status = 400) => send(status, { __type: type, message });
        if (!/^AWS4-HMAC-SHA256 /.test(req.headers.authorization ?? ''))
          return fail('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
        const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSSM\./, '');
        this.requests.push(operation);
        if (this.throttle > 0) {
          this.throttle--;
          return fail('ThrottlingException', 'Rate exceeded');
        }
        let input: Record<string, unknown>;
        try {
          input = JSON.parse(body || '{}');
        } catch {
          return fail('SerializationException', 'malformed JSON');
        }
        switch (operation) {
          case 'DescribeInstanceInformation': {
            const all = this.describe(input);
            const size = input.MaxResults === undefined ? 50 : Number(input.MaxResults);
            if (!Number.isInteger(size) || size < 5 || size > 50)
              return fail('ValidationException', 'MaxResults must be between 5 and 50');
            const start = input.NextToken === undefined ? 0 : Number.parseInt(String(input.NextToken), 36);
            if (!Number.isInteger(start) || start < 0 || start > all.length)
              return fail('InvalidNextToken', 'The specified token is not valid.');
            const next = start + size < all.length ? (start + size).toString(36) : undefined;
            return send(200, {
              InstanceInformationList: all.slice(start, start + size),
              ...(next ? { NextToken: next } : {}),
            });
          }
          case 'ListTagsForResource': {
            if (input.ResourceType !== 'ManagedInstance')
              return fail('InvalidResourceType', 'The resource type is not valid.');
            // ManagedInstance tags belong to hybrid nodes (mi-…); an EC2 instance's tags are EC2 tags.
            const instance = this.instances.find((i) => i.id === input.ResourceId && !i.id.startsWith('i-'));
            if (!instance) return fail('InvalidResourceId', 'The resource ID is not valid.');
            return send(200, {
              TagList: Object.entries(instance.tags).map(([Key, Value]) => ({ Key, Value })),
            });
          }
          case 'SendCommand':
            return this.sendCommand(input, send, fail);
          case 'GetCommandInvocation': {
            const invocation = this.invocations.get(`${input.CommandId}|${input.InstanceId}`);
            if (!invocation)
              return fail(
                'InvocationDoesNotExist',
                'The command ID and instance ID you specified did not match any invocations.',
              );
            invocation.polls++;
            return send(200, {
              CommandId: invocation.commandId,
              InstanceId: invocation.instanceId,
              DocumentName: 'AWS-RunShellScript',
              Status: invocation.status,
              StatusDetails: invocation.status,
              ResponseCode: invocation.responseCode,
              StandardOutputContent: invocation.stdout.slice(0, STDOUT_LIMIT),
              StandardErrorContent: invocation.stderr.slice(0, STDERR_LIMIT),
            });
          }
          default:
            return fail('InvalidAction', `unsupported operation ${operation}`);
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.endpoint;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private describe(input: Record<string, unknown>) {
    const filters = (input.Filters as { Key: string; Values: string[] }[] | undefined) ?? [];
    return this.instances
      .filter((i) =>
        filters.every((f) => {
          if (f.Key === 'InstanceIds') return f.Values.includes(i.id);
          if (f.Key.startsWith('tag:')) return f.Values.includes(i.tags[f.Key.slice(4)] ?? '\u0000');
          if (f.Key === 'PingStatus') return f.Values.includes(i.online ? 'Online' : 'ConnectionLost');
          return true;
        }),
      )
      .map((i) => ({
        InstanceId: i.id,
        PingStatus: i.online ? 'Online' : 'ConnectionLost',
        PlatformType: 'Linux',
        PlatformName: 'Debian GNU/Linux',
        PlatformVersion: i.platformVersion ?? '12',
        ResourceType: i.id.startsWith('mi-') ? 'ManagedInstance' : 'EC2Instance',
        ...(i.ipAddress ? { IPAddress: i.ipAddress } : {}),
      }));
  }

  private sendCommand(
    input: Record<string, unknown>,
    send: (s: number, p: unknown) => void,
    fail: (t: string, m: string) => void,
  ): void {
    if (input.DocumentName !== 'AWS-RunShellScript') {
      fail('InvalidDocument', `document ${String(input.DocumentName)} is not supported here`);
      return;
    }
    const ids = (input.InstanceIds as string[] | undefined) ?? [];
    const commands = ((input.Parameters as { commands?: string[] } | undefined)?.commands ?? []).join('\n');
    const targets = ids.map((id) => this.instances.find((i) => i.id === id));
    if (ids.length === 0 || targets.some((t) => !t?.online)) {
      fail('InvalidInstanceId', 'Instances not in a valid state for account');
      return;
    }
    const commandId = randomUUID();
    for (const instance of targets as LabInstance[]) {
      const invocation: Invocation = {
        commandId,
        instanceId: instance.id,
        status: 'Pending',
        responseCode: -1,
        stdout: '',
        stderr: '',
        polls: 0,
      };
      this.invocations.set(`${commandId}|${instance.id}`, invocation);
      this.scripts.push(commands);
      const child = spawn('sh', ['-c', commands], { cwd: instance.dir });
      invocation.status = 'InProgress';
      child.stdout.on('data', (c: Buffer) => {
        invocation.stdout += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        invocation.stderr += c.toString();
      });
      const timeout = setTimeout(() => child.kill('SIGKILL'), Number(input.TimeoutSeconds ?? 3600) * 1000);
      child.on('close', (code, signal) => {
        clearTimeout(timeout);
        invocation.responseCode = code ?? -1;
        invocation.status = signal === 'SIGKILL' ? 'TimedOut' : code === 0 ? 'Success' : 'Failed';
      });
    }
    send(200, {
      Command: {
        CommandId: commandId,
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ids,
        Status: 'Pending',
        TimeoutSeconds: input.TimeoutSeconds,
      },
    });
  }
}
