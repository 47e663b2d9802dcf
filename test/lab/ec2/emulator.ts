import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { LabInstance } from '../ssm/emulator.ts';

const xml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The EC2 Query API's DescribeTags (form-encoded POST, XML answers, `Filter.N.Name` / `Filter.N.Value.M`,
 * MaxResults 5–1000 with NextToken), over the same lab instances the SSM emulator manages: an EC2 instance's
 * tags (`i-…`) live here, not in SSM. Errors have EC2's `<Response><Errors><Error>` shape.
 */
export class Ec2Emulator {
  private server: Server | undefined;
  port = 0;
  readonly requests: string[] = [];

  constructor(private readonly instances: readonly LabInstance[]) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const params = new URLSearchParams(body);
        const action = params.get('Action') ?? '';
        this.requests.push(action);
        const reply = (status: number, text: string) => {
          res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' });
          res.end(text);
        };
        const fail = (code: string, message: string) =>
          reply(
            400,
            `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${xml(message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`,
          );
        if (action !== 'DescribeTags')
          return fail('InvalidAction', `The action ${action} is not valid for this web service.`);
        const filters = new Map<string, string[]>();
        for (let n = 1; params.has(`Filter.${n}.Name`); n++) {
          const values: string[] = [];
          for (let m = 1; params.has(`Filter.${n}.Value.${m}`); m++)
            values.push(params.get(`Filter.${n}.Value.${m}`)!);
          filters.set(params.get(`Filter.${n}.Name`)!, values);
        }
        for (const name of filters.keys())
          if (!['resource-id', 'resource-type', 'key', 'value'].includes(name))
            return fail('InvalidParameterValue', `The filter '${name}' is invalid`);
        const max = Number(params.get('MaxResults') ?? 1000);
        if (!Number.isInteger(max) || max < 5 || max > 1000)
          return fail('InvalidParameterValue', 'MaxResults must be between 5 and 1000');
        const ids = filters.get('resource-id');
        const types = filters.get('resource-type');
        const tags = this.instances
          .filter(
            (i) =>
              i.id.startsWith('i-') && (!ids || ids.includes(i.id)) && (!types || types.includes('instance')),
          )
          .flatMap((i) => Object.entries(i.tags).map(([key, value]) => ({ id: i.id, key, value })))
          .filter(
            (t) =>
              (!filters.get('key') || filters.get('key')!.includes(t.key)) &&
              (!filters.get('value') || filters.get('value')!.includes(t.value)),
          )
          .sort((a, b) => (a.id + a.key < b.id + b.key ? -1 : 1));
        const start = Number(params.get('NextToken') ?? 0);
        const page = tags.slice(start, start + max);
        const next = start + max < tags.length ? String(start + max) : undefined;
        reply(
          200,
          `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${randomUUID()}</requestId><tagSet>${page
            .map(
              (t) =>
                `<item><resourceId>${t.id}</resourceId><resourceType>instance</resourceType><key>${xml(t.key)}</key><value>${xml(t.value)}</value></item>`,
            )
            .join('')}</tagSet>${next ? `<nextToken>${next}</nextToken>` : ''}</DescribeTagsResponse>`,
        );
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
