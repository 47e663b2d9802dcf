import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { freePort } from '../processes.ts';

export interface ReceivedMessage {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface ScriptedAnswer {
  status: number;
  /** Sent as the Retry-After header (seconds). */
  retryAfter?: number;
  /** Wait this long before answering (to test the sender's timeout). */
  delayMs?: number;
}

/**
 * A Slack incoming webhook on 127.0.0.1: records every JSON body posted to its secret path and answers `ok`
 * the way Slack does, or with the scripted answers queued by `answerNext`.
 */
export class SlackReceiver {
  private server: Server | undefined;
  port = 0;
  /** Like Slack's, the path is the secret. */
  readonly path = `/services/TLAB/BLAB/${randomBytes(12).toString('hex')}`;
  readonly received: ReceivedMessage[] = [];
  /** Every request, including those answered with an error. */
  attempts = 0;
  private script: ScriptedAnswer[] = [];

  get url(): string {
    return `http://127.0.0.1:${this.port}${this.path}`;
  }

  answerNext(...answers: ScriptedAnswer[]): void {
    this.script.push(...answers);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.attempts++;
        const answer = this.script.shift();
        const reply = () => {
          if (req.url !== this.path) {
            res.writeHead(404, { 'content-type': 'text/plain' }).end('no_service');
            return;
          }
          if (answer && answer.status !== 200) {
            const headers: Record<string, string> = { 'content-type': 'text/plain' };
            if (answer.retryAfter !== undefined) headers['retry-after'] = String(answer.retryAfter);
            res
              .writeHead(answer.status, headers)
              .end(answer.status === 429 ? 'rate_limited' : 'internal_error');
            return;
          }
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_payload');
            return;
          }
          const { text, blocks } = (body ?? {}) as { text?: unknown; blocks?: unknown };
          if (typeof text !== 'string' && !Array.isArray(blocks)) {
            res.writeHead(400, { 'content-type': 'text/plain' }).end('no_text');
            return;
          }
          this.received.push({ path: req.url, headers: req.headers, body });
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        };
        if (answer?.delayMs) setTimeout(reply, answer.delayMs);
        else reply();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A webhook URL on a loopback port nothing listens on: connections are refused. */
export async function unreachableWebhookUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}/services/TLAB/BLAB/closed`;
}
