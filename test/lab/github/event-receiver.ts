import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface ReceivedEvent {
  headers: IncomingHttpHeaders;
  body: unknown;
  /** Whether X-Ottr-Signature-256 matched an HMAC-SHA256 of the exact body with the receiver's key. */
  signatureValid: boolean;
}

/** A follow-on automation's endpoint: receives the signed event POSTs and checks their signatures as it should. */
export class EventReceiver {
  private server: Server | undefined;
  readonly received: ReceivedEvent[] = [];
  port = 0;

  constructor(private readonly signingKey: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/ottr`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const expected = Buffer.from(
          `sha256=${createHmac('sha256', this.signingKey).update(raw).digest('hex')}`,
        );
        const given = Buffer.from(String(req.headers['x-ottr-signature-256'] ?? ''));
        const signatureValid = given.length === expected.length && timingSafeEqual(given, expected);
        this.received.push({ headers: req.headers, body: JSON.parse(raw.toString('utf8')), signatureValid });
        res.writeHead(signatureValid ? 204 : 401);
        res.end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
