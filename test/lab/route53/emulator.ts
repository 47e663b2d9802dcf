import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { XMLParser } from 'fast-xml-parser';
import { normalise, type RecordSet, type Zone, type ZoneStore } from '../dns/zone-store.ts';

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';
const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) => ['Change', 'ResourceRecord'].includes(name),
});

const xmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

type FaultCode = 'Throttling' | 'PriorRequestNotComplete' | 'InvalidChangeBatch';
type Operation =
  | 'ChangeResourceRecordSets'
  | 'ListResourceRecordSets'
  | 'GetChange'
  | 'ListHostedZonesByName'
  | 'GetHostedZone';

interface Change {
  id: string;
  submittedAt: string;
  polls: number;
  insyncAt: number;
  /** GetChange has answered INSYNC for it. */
  confirmed: boolean;
}

/** TXT values travel quoted in Route53's API ("value"); the store keeps them bare. */
function fromWire(type: string, value: string): string {
  if (type !== 'TXT') return normalise(value);
  return value.replace(/^"|"$/g, '').replace(/\\"/g, '"');
}
function toWire(type: string, value: string): string {
  return type === 'TXT' ? `"${value.replace(/"/g, '\\"')}"` : value.endsWith('.') ? value : `${value}.`;
}

/**
 * The Route53 REST/XML API subset the AWS SDK uses for DNS-01, over the lab's ZoneStore, with AWS's error
 * shapes and fault injection. Changes are PENDING until `insyncAfterPolls` GetChange calls or `insyncAfterMs`.
 * The account-wide request rate (5 per second in AWS) throttles every call, reads included, when
 * `rateLimitPerSecond` is set. Every behaviour and its source: BEHAVIOUR.md beside this.
 */
export class Route53Emulator {
  private server: Server | undefined;
  port = 0;
  readonly requests: string[] = [];
  private readonly changes = new Map<string, Change>();
  private faults: { code: FaultCode; count: number; operation: Operation }[] = [];
  insyncAfterPolls = 1;
  insyncAfterMs = 0;
  /** Requests per second the account may send (AWS: 5), every operation counted; unset: no limit. */
  rateLimitPerSecond: number | undefined;
  private bucket = { tokens: 0, at: 0 };

  constructor(private readonly store: ZoneStore) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next `count` calls of `operation` (ChangeResourceRecordSets unless named) fail with `code`. */
  failNext(code: FaultCode, count = 1, operation: Operation = 'ChangeResourceRecordSets'): void {
    this.faults.push({ code, count, operation });
  }

  /** Changes no GetChange has yet reported INSYNC. */
  unconfirmedChanges(): string[] {
    return [...this.changes.values()].filter((c) => !c.confirmed).map((c) => c.id);
  }

  /** A token bucket of `rateLimitPerSecond` tokens, refilled continuously. */
  private overRate(): boolean {
    const rate = this.rateLimitPerSecond;
    if (rate === undefined) return false;
    const now = Date.now();
    this.bucket.tokens = Math.min(rate, this.bucket.tokens + ((now - this.bucket.at) / 1000) * rate);
    this.bucket.at = now;
    if (this.bucket.tokens < 1) return true;
    this.bucket.tokens -= 1;
    return false;
  }

  /** The first injected fault for `operation`, used up by one call. */
  private takeFault(operation: Operation): FaultCode | undefined {
    const index = this.faults.findIndex((f) => f.operation === operation);
    const fault = this.faults[index];
    if (!fault) return undefined;
    if (--fault.count <= 0) this.faults.splice(index, 1);
    return fault.code;
  }

  /** Throttling (any operation, the account's rate) or an injected fault; true when the call was answered. */
  private rejected(res: ServerResponse, operation: Operation): boolean {
    const code = this.overRate() ? 'Throttling' : this.takeFault(operation);
    if (!code) return false;
    if (code === 'InvalidChangeBatch')
      this.invalidBatch(res, ['Injected fault: the change batch was rejected']);
    else if (code === 'Throttling') this.error(res, 400, 'Sender', 'Throttling', 'Rate exceeded');
    else
      this.error(
        res,
        400,
        'Sender',
        code,
        'The request was rejected because Route 53 was still processing a prior request.',
      );
    return true;
  }

  clearFaults(): void {
    this.faults = [];
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        try {
          this.route(req, res, body);
        } catch (error) {
          this.error(res, 500, 'Receiver', 'InternalFailure', (error as Error).message);
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

  private send(res: ServerResponse, status: number, xml: string): void {
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
  }

  private error(
    res: ServerResponse,
    status: number,
    type: 'Sender' | 'Receiver',
    code: string,
    message: string,
  ): void {
    this.send(
      res,
      status,
      `<ErrorResponse xmlns="${NS}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
    );
  }

  /**
   * Route53 reports a rejected batch in the standard error envelope with the messages in brackets (the older
   * `<InvalidChangeBatch><Messages>` root element is no longer what the service sends).
   */
  private invalidBatch(res: ServerResponse, messages: string[]): void {
    if (this.legacyInvalidChangeBatch) {
      const list = messages.map((m) => `<Message>${xmlEscape(m)}</Message>`).join('');
      this.send(
        res,
        400,
        `<InvalidChangeBatch xmlns="${NS}"><Messages>${list}</Messages><RequestId>${randomUUID()}</RequestId></InvalidChangeBatch>`,
      );
      return;
    }
    this.error(res, 400, 'Sender', 'InvalidChangeBatch', `[${messages.join(', ')}]`);
  }

  /** Answer rejected batches with the older <InvalidChangeBatch><Messages> document (both occur in the wild). */
  legacyInvalidChangeBatch = false;

  private route(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!/^AWS4-HMAC-SHA256 /.test(req.headers.authorization ?? '')) {
      this.error(res, 403, 'Sender', 'MissingAuthenticationToken', 'Missing Authentication Token');
      return;
    }
    const path = url.pathname;
    const rrset = /^\/2013-04-01\/hostedzone\/([^/]+)\/rrset\/?$/.exec(path);
    const change = /^\/2013-04-01\/change\/([^/]+)$/.exec(path);
    const hostedZone = /^\/2013-04-01\/hostedzone\/([^/]+)$/.exec(path);
    const answer: [Operation, () => void] | undefined =
      req.method === 'POST' && rrset
        ? ['ChangeResourceRecordSets', () => this.changeRecordSets(res, rrset[1]!, body)]
        : req.method === 'GET' && rrset
          ? ['ListResourceRecordSets', () => this.listRecordSets(res, rrset[1]!, url.searchParams)]
          : req.method === 'GET' && change
            ? ['GetChange', () => this.getChange(res, change[1]!)]
            : req.method === 'GET' && path === '/2013-04-01/hostedzonesbyname'
              ? [
                  'ListHostedZonesByName',
                  () => this.listZonesByName(res, normalise(url.searchParams.get('dnsname') ?? '')),
                ]
              : req.method === 'GET' && hostedZone
                ? ['GetHostedZone', () => this.getHostedZone(res, hostedZone[1]!)]
                : undefined;
    if (!answer) {
      this.error(res, 404, 'Sender', 'UnknownOperationException', `no such operation: ${req.method} ${path}`);
      return;
    }
    const [operation, handle] = answer;
    this.requests.push(operation);
    if (!this.rejected(res, operation)) handle();
  }

  private listZonesByName(res: ServerResponse, dnsName: string): void {
    const zones = [...this.store.zones.values()]
      .filter((z) => !dnsName || z.name >= dnsName)
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    const items = zones.map((z) => this.zoneXml(z)).join('');
    const name = dnsName ? `<DNSName>${dnsName}.</DNSName>` : '';
    this.send(
      res,
      200,
      `<ListHostedZonesByNameResponse xmlns="${NS}"><HostedZones>${items}</HostedZones>${name}<IsTruncated>false</IsTruncated><MaxItems>100</MaxItems></ListHostedZonesByNameResponse>`,
    );
  }

  private getHostedZone(res: ServerResponse, id: string): void {
    const zone = this.store.zoneById(id);
    if (!zone) {
      this.error(res, 404, 'Sender', 'NoSuchHostedZone', `No hosted zone found with ID: ${id}`);
      return;
    }
    this.send(
      res,
      200,
      `<GetHostedZoneResponse xmlns="${NS}">${this.zoneXml(zone)}<DelegationSet><NameServers><NameServer>ns1.${zone.name}</NameServer></NameServers></DelegationSet></GetHostedZoneResponse>`,
    );
  }

  private zoneXml(zone: Zone): string {
    return `<HostedZone><Id>/hostedzone/${zone.id}</Id><Name>${zone.name}.</Name><CallerReference>lab-${zone.id}</CallerReference><Config><PrivateZone>false</PrivateZone></Config><ResourceRecordSetCount>${zone.sets.size}</ResourceRecordSetCount></HostedZone>`;
  }

  private changeInfo(change: Change, status: string): string {
    return `<ChangeInfo><Id>/change/${change.id}</Id><Status>${status}</Status><SubmittedAt>${change.submittedAt}</SubmittedAt></ChangeInfo>`;
  }

  private changeRecordSets(res: ServerResponse, zoneId: string, body: string): void {
    const zone = this.store.zoneById(zoneId);
    if (!zone) {
      this.error(res, 404, 'Sender', 'NoSuchHostedZone', `No hosted zone found with ID: ${zoneId}`);
      return;
    }
    const doc = parser.parse(body) as {
      ChangeResourceRecordSetsRequest?: { ChangeBatch?: { Changes?: { Change?: unknown[] } } };
    };
    const changes = (doc.ChangeResourceRecordSetsRequest?.ChangeBatch?.Changes?.Change ?? []) as {
      Action: string;
      ResourceRecordSet: {
        Name: string;
        Type: string;
        TTL?: string;
        ResourceRecords?: { ResourceRecord?: { Value: string }[] };
      };
    }[];
    if (changes.length === 0) {
      this.error(res, 400, 'Sender', 'InvalidInput', 'ChangeBatch must contain at least one change');
      return;
    }
    // Applied in order on a copy, committed only when every change is valid: all or nothing.
    const draft = new Map(zone.sets);
    const messages: string[] = [];
    for (const change of changes) {
      const rrs = change.ResourceRecordSet;
      const type = rrs.Type as RecordSet['type'];
      const name = normalise(rrs.Name);
      const values = (rrs.ResourceRecords?.ResourceRecord ?? []).map((r) => fromWire(type, String(r.Value)));
      const set: RecordSet = { name, type, ttl: Number(rrs.TTL ?? 300), values };
      const k = `${name}|${type}`;
      const current = draft.get(k);
      const label = `[name='${name}.', type='${type}']`;
      if (!(name === zone.name || name.endsWith(`.${zone.name}`))) {
        messages.push(`RRSet with DNS name ${name}. is not permitted in zone ${zone.name}.`);
      } else if (change.Action === 'CREATE') {
        if (current) messages.push(`Tried to create resource record set ${label} but it already exists`);
        else draft.set(k, set);
      } else if (change.Action === 'UPSERT') {
        draft.set(k, set);
      } else if (change.Action === 'DELETE') {
        const same =
          current &&
          current.ttl === set.ttl &&
          current.values.length === values.length &&
          current.values.every((v, i) => v === values[i]);
        if (!current) messages.push(`Tried to delete resource record set ${label} but it was not found`);
        else if (!same)
          messages.push(
            `Tried to delete resource record set ${label} but the values provided do not match the current values`,
          );
        else draft.delete(k);
      } else {
        messages.push(`Invalid action ${change.Action}`);
      }
      if (values.length === 0 && change.Action !== 'DELETE')
        messages.push(`Invalid Resource Record: empty values for ${label}`);
    }
    if (messages.length > 0) {
      this.invalidBatch(res, messages);
      return;
    }
    zone.sets.clear();
    for (const [k, v] of draft) zone.sets.set(k, v);
    const change: Change = {
      id: `C${randomUUID().replace(/-/g, '').slice(0, 20).toUpperCase()}`,
      submittedAt: new Date().toISOString(),
      polls: 0,
      insyncAt: Date.now() + this.insyncAfterMs,
      confirmed: false,
    };
    this.changes.set(change.id, change);
    this.send(
      res,
      200,
      `<ChangeResourceRecordSetsResponse xmlns="${NS}">${this.changeInfo(change, 'PENDING')}</ChangeResourceRecordSetsResponse>`,
    );
  }

  private getChange(res: ServerResponse, id: string): void {
    const change = this.changes.get(id.replace(/^\/?change\//, ''));
    if (!change) {
      this.error(res, 404, 'Sender', 'NoSuchChange', `Could not find resource with ID: ${id}`);
      return;
    }
    change.polls++;
    const insync = change.polls >= this.insyncAfterPolls && Date.now() >= change.insyncAt;
    if (insync) change.confirmed = true;
    this.send(
      res,
      200,
      `<GetChangeResponse xmlns="${NS}">${this.changeInfo(change, insync ? 'INSYNC' : 'PENDING')}</GetChangeResponse>`,
    );
  }

  private listRecordSets(res: ServerResponse, zoneId: string, query: URLSearchParams): void {
    const zone = this.store.zoneById(zoneId);
    if (!zone) {
      this.error(res, 404, 'Sender', 'NoSuchHostedZone', `No hosted zone found with ID: ${zoneId}`);
      return;
    }
    const max = Math.min(Number(query.get('maxitems') ?? 300), 300);
    const startName = query.get('name') ? normalise(query.get('name')!) : undefined;
    const startType = query.get('type') ?? undefined;
    // Route53 orders by name with labels reversed, then type; good enough here: reversed-label sort.
    const order = (s: RecordSet) => `${s.name.split('.').reverse().join('.')}|${s.type}`;
    const sets = [...zone.sets.values()].sort((a, b) => (order(a) < order(b) ? -1 : 1));
    const from = startName ? `${startName.split('.').reverse().join('.')}|${startType ?? ''}` : '';
    const selected = sets.filter((s) => order(s) >= from);
    const page = selected.slice(0, max);
    const next = selected[max];
    const items = page
      .map(
        (s) =>
          `<ResourceRecordSet><Name>${s.name}.</Name><Type>${s.type}</Type><TTL>${s.ttl}</TTL><ResourceRecords>${s.values.map((v) => `<ResourceRecord><Value>${xmlEscape(toWire(s.type, v))}</Value></ResourceRecord>`).join('')}</ResourceRecords></ResourceRecordSet>`,
      )
      .join('');
    const tail = next
      ? `<IsTruncated>true</IsTruncated><NextRecordName>${next.name}.</NextRecordName><NextRecordType>${next.type}</NextRecordType>`
      : '<IsTruncated>false</IsTruncated>';
    this.send(
      res,
      200,
      `<ListResourceRecordSetsResponse xmlns="${NS}"><ResourceRecordSets>${items}</ResourceRecordSets>${tail}<MaxItems>${max}</MaxItems></ListResourceRecordSetsResponse>`,
    );
  }
}
