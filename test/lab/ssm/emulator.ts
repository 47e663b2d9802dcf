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
  /**
   * The agent is registered (Online) but cannot be reached just now: its invocations stay Delayed, and SSM
   * keeps trying until this is cleared or the delivery timeout (SendCommand TimeoutSeconds) passes.
   */
  unreachable?: boolean;
}

/** CommandInvocationStatus of the SDK model (@aws-sdk/client-ssm). */
type InvocationStatus =
  | 'Pending'
  | 'InProgress'
  | 'Delayed'
  | 'Success'
  | 'Cancelled'
  | 'Cancelling'
  | 'TimedOut'
  | 'Failed';

interface Invocation {
  commandId: string;
  instanceId: string;
  status: InvocationStatus;
  /** StatusDetails: also DeliveryTimedOut and ExecutionTimedOut, which both report Status TimedOut. */
  details: string;
  responseCode: number;
  stdout: string;
  stderr: string;
  polls: number;
  /** Until then GetCommandInvocation answers InvocationDoesNotExist (eventual consistency). */
  visibleAt: number;
  kill?: (() => void) | undefined;
}

const STDOUT_LIMIT = 24_000; // what GetCommandInvocation returns inline
const STDERR_LIMIT = 8_000;
const TERMINAL = new Set<InvocationStatus>(['Success', 'Cancelled', 'TimedOut', 'Failed']);
/** The agent's exit code for a script it stopped (timeout or cancel): 128 + SIGKILL. */
const STOPPED_EXIT_CODE = 137;
/** SendCommand TimeoutSeconds bounds (API reference) and its default. */
const DELIVERY_TIMEOUT = { min: 30, max: 2_592_000, default: 3600 };
/** The agent's executionTimeout bounds: outside them it runs with the default (amazon-ssm-agent pluginutil). */
const EXECUTION_TIMEOUT = { min: 5, max: 172_800, default: 3600 };

/**
 * The AWS Systems Manager API subset a Run Command rotation and discovery use (JSON 1.1 protocol: SendCommand,
 * CancelCommand, GetCommandInvocation, DescribeInstanceInformation, ListTagsForResource for ResourceType
 * ManagedInstance — hybrid nodes only, as in AWS; EC2 instances' tags are in test/lab/ec2), executing
 * AWS-RunShellScript commands with a real shell in the instance's directory. Errors have SSM's shape
 * (`__type`, `message`); throttling can be injected. Every behaviour and its source: BEHAVIOUR.md beside this.
 */
export class SsmEmulator {
  private server: Server | undefined;
  port = 0;
  readonly instances: LabInstance[] = [];
  readonly requests: string[] = [];
  readonly scripts: string[] = [];
  /** Every SendCommand input as received. */
  readonly sentCommands: Record<string, unknown>[] = [];
  private readonly invocations = new Map<string, Invocation>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private throttle = 0;
  /** The lab clock: milliseconds per second of TimeoutSeconds and executionTimeout. */
  secondMs = 1000;
  /** How long after SendCommand an invocation stays unknown to GetCommandInvocation. */
  registrationDelayMs = 20;
  /** How long an invocation stays Pending before the agent picks it up. */
  deliveryDelayMs = 0;
  /** How long CancelCommand leaves an invocation Cancelling before it is Cancelled. */
  cancellingMs = 50;

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
          case 'DescribeInstanceInformation':
            return this.describeInstanceInformation(input, send, fail);
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
          case 'CancelCommand': {
            if (!this.cancelCommand(String(input.CommandId)))
              return fail('InvalidCommandId', 'The specified command ID is not valid.');
            return send(200, {});
          }
          case 'GetCommandInvocation':
            return this.getCommandInvocation(input, send, fail);
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
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const invocation of this.invocations.values()) invocation.kill?.();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The CommandId of the last SendCommand. */
  get lastCommandId(): string | undefined {
    return [...this.invocations.values()].at(-1)?.commandId;
  }

  /**
   * CancelCommand: every invocation of the command that has not finished turns Cancelling, and Cancelled once
   * the agent stopped the script. False for an unknown command id.
   */
  cancelCommand(commandId: string): boolean {
    const invocations = [...this.invocations.values()].filter((i) => i.commandId === commandId);
    for (const invocation of invocations) {
      if (TERMINAL.has(invocation.status) || invocation.status === 'Cancelling') continue;
      invocation.status = 'Cancelling';
      invocation.details = 'Cancelling';
      this.later(this.cancellingMs, () => {
        invocation.kill?.();
        this.finish(invocation, 'Cancelled', 'Cancelled', invocation.kill ? STOPPED_EXIT_CODE : -1);
      });
    }
    return invocations.length > 0;
  }

  private later(ms: number, action: () => void): void {
    if (!Number.isFinite(ms)) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private finish(invocation: Invocation, status: InvocationStatus, details: string, code: number): void {
    if (TERMINAL.has(invocation.status)) return;
    invocation.status = status;
    invocation.details = details;
    invocation.responseCode = code;
    invocation.kill = undefined;
  }

  /**
   * Pages are cut from every managed instance, then filtered: a page may hold fewer matches than MaxResults,
   * or none, and still carry a NextToken (aws/aws-cli#2626). MaxResults defaults to 10 (the SDK model).
   */
  private describeInstanceInformation(input: Record<string, unknown>, send: Send, fail: Fail) {
    const size = input.MaxResults === undefined ? 10 : Number(input.MaxResults);
    if (!Number.isInteger(size) || size < 5 || size > 50)
      return fail('ValidationException', 'MaxResults must be between 5 and 50');
    const filters = (input.Filters as { Key: string; Values: string[] }[] | undefined) ?? [];
    const tagFilters = filters.filter((f) => f.Key.startsWith('tag:') || f.Key === 'tag-key');
    if (tagFilters.length > 0 && tagFilters.length < filters.length)
      return fail('InvalidFilterKey', 'Tag filters can not be combined with other filter types.');
    const start = input.NextToken === undefined ? 0 : Number.parseInt(String(input.NextToken), 36);
    if (!Number.isInteger(start) || start < 0 || start > this.instances.length)
      return fail('InvalidNextToken', 'The specified token is not valid.');
    const next = start + size < this.instances.length ? (start + size).toString(36) : undefined;
    const page = this.instances.slice(start, start + size).filter((i) => matches(i, filters));
    send(200, { InstanceInformationList: page.map(information), ...(next ? { NextToken: next } : {}) });
  }

  private getCommandInvocation(input: Record<string, unknown>, send: Send, fail: Fail) {
    const invocation = this.invocations.get(`${input.CommandId}|${input.InstanceId}`);
    if (!invocation || Date.now() < invocation.visibleAt)
      return fail(
        'InvocationDoesNotExist',
        'The command ID and instance ID you specified did not match any invocations.',
      );
    invocation.polls++;
    // Output is empty until the invocation has finished (the SDK model's StandardOutputContent).
    const finished = TERMINAL.has(invocation.status);
    send(200, {
      CommandId: invocation.commandId,
      InstanceId: invocation.instanceId,
      DocumentName: 'AWS-RunShellScript',
      PluginName: 'aws:runShellScript',
      Status: invocation.status,
      StatusDetails: invocation.details,
      ResponseCode: invocation.responseCode,
      StandardOutputContent: finished ? invocation.stdout.slice(0, STDOUT_LIMIT) : '',
      StandardErrorContent: finished ? invocation.stderr.slice(0, STDERR_LIMIT) : '',
    });
  }

  private sendCommand(input: Record<string, unknown>, send: Send, fail: Fail) {
    if (input.DocumentName !== 'AWS-RunShellScript')
      return fail('InvalidDocument', `document ${String(input.DocumentName)} is not supported here`);
    const timeoutSeconds =
      input.TimeoutSeconds === undefined ? DELIVERY_TIMEOUT.default : input.TimeoutSeconds;
    if (
      !Number.isInteger(timeoutSeconds) ||
      (timeoutSeconds as number) < DELIVERY_TIMEOUT.min ||
      (timeoutSeconds as number) > DELIVERY_TIMEOUT.max
    )
      return fail(
        'ValidationException',
        `1 validation error detected: Value '${String(timeoutSeconds)}' at 'timeoutSeconds' failed to satisfy constraint: Member must have value between ${DELIVERY_TIMEOUT.min} and ${DELIVERY_TIMEOUT.max}`,
      );
    const parameters = (input.Parameters as Record<string, string[] | undefined> | undefined) ?? {};
    const executionTimeout = parameters.executionTimeout?.[0] ?? String(EXECUTION_TIMEOUT.default);
    // The document's allowedPattern: 1 to 172800.
    if (!/^[1-9][0-9]{0,5}$/.test(executionTimeout) || Number(executionTimeout) > EXECUTION_TIMEOUT.max)
      return fail('InvalidParameters', 'Parameter "executionTimeout" does not match the allowed pattern.');
    const ids = (input.InstanceIds as string[] | undefined) ?? [];
    const targets = ids.map((id) => this.instances.find((i) => i.id === id));
    if (ids.length === 0 || targets.some((t) => !t?.online))
      return fail('InvalidInstanceId', 'Instances not in a valid state for account');
    this.sentCommands.push(input);
    const commandId = randomUUID();
    const commands = (parameters.commands ?? []).join('\n');
    const deliverBy = Date.now() + (timeoutSeconds as number) * this.secondMs;
    for (const instance of targets as LabInstance[]) {
      const invocation: Invocation = {
        commandId,
        instanceId: instance.id,
        status: 'Pending',
        details: 'Pending',
        responseCode: -1,
        stdout: '',
        stderr: '',
        polls: 0,
        visibleAt: Date.now() + this.registrationDelayMs,
      };
      this.invocations.set(`${commandId}|${instance.id}`, invocation);
      this.scripts.push(commands);
      const run = () => this.run(invocation, instance, commands, agentTimeout(Number(executionTimeout)));
      this.later(this.deliveryDelayMs, () => this.deliver(invocation, instance, deliverBy, run));
    }
    send(200, {
      Command: {
        CommandId: commandId,
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ids,
        Parameters: parameters,
        Status: 'Pending',
        StatusDetails: 'Pending',
        TimeoutSeconds: timeoutSeconds,
      },
    });
  }

  /** Delivery: Delayed while the agent cannot be reached, DeliveryTimedOut once TimeoutSeconds passed. */
  private deliver(invocation: Invocation, instance: LabInstance, deliverBy: number, run: () => void) {
    if (invocation.status === 'Cancelling' || TERMINAL.has(invocation.status)) return;
    if (Date.now() >= deliverBy) return this.finish(invocation, 'TimedOut', 'DeliveryTimedOut', -1);
    if (instance.unreachable) {
      invocation.status = 'Delayed';
      invocation.details = 'Delayed';
      this.later(Math.min(20, deliverBy - Date.now()), () =>
        this.deliver(invocation, instance, deliverBy, run),
      );
      return;
    }
    run();
  }

  /** The agent runs the script; executionTimeout stops it (ExecutionTimedOut, exit 137). */
  private run(invocation: Invocation, instance: LabInstance, commands: string, seconds: number): void {
    // Its own process group, which the agent kills as a whole on timeout or cancel (executers_unix.go).
    const child = spawn('sh', ['-c', commands], { cwd: instance.dir, detached: true });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    invocation.status = 'InProgress';
    invocation.details = 'InProgress';
    let timedOut = false;
    invocation.kill = killGroup;
    child.stdout.on('data', (c: Buffer) => {
      invocation.stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      invocation.stderr += c.toString();
    });
    this.later(seconds * this.secondMs, () => {
      timedOut = true;
      killGroup();
    });
    child.on('close', (code) => {
      if (timedOut) return this.finish(invocation, 'TimedOut', 'ExecutionTimedOut', STOPPED_EXIT_CODE);
      if (invocation.status === 'Cancelling') return; // Cancelled when cancellingMs has passed
      this.finish(
        invocation,
        code === 0 ? 'Success' : 'Failed',
        code === 0 ? 'Success' : 'Failed',
        code ?? -1,
      );
    });
  }
}

type Send = (status: number, payload: unknown) => void;
type Fail = (type: string, message: string, status?: number) => void;

/** The agent runs with the default when executionTimeout is outside its bounds. */
function agentTimeout(seconds: number): number {
  return seconds < EXECUTION_TIMEOUT.min || seconds > EXECUTION_TIMEOUT.max
    ? EXECUTION_TIMEOUT.default
    : seconds;
}

function matches(instance: LabInstance, filters: { Key: string; Values: string[] }[]): boolean {
  return filters.every((f) => {
    if (f.Key === 'InstanceIds') return f.Values.includes(instance.id);
    if (f.Key === 'tag-key') return f.Values.some((key) => key in instance.tags);
    if (f.Key.startsWith('tag:')) return f.Values.includes(instance.tags[f.Key.slice(4)] ?? '\u0000');
    if (f.Key === 'PingStatus') return f.Values.includes(instance.online ? 'Online' : 'ConnectionLost');
    return true;
  });
}

function information(instance: LabInstance) {
  return {
    InstanceId: instance.id,
    PingStatus: instance.online ? 'Online' : 'ConnectionLost',
    PlatformType: 'Linux',
    PlatformName: 'Debian GNU/Linux',
    PlatformVersion: instance.platformVersion ?? '12',
    ResourceType: instance.id.startsWith('mi-') ? 'ManagedInstance' : 'EC2Instance',
    ...(instance.ipAddress ? { IPAddress: instance.ipAddress } : {}),
  };
}
