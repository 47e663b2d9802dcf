import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import * as packet from 'dns-packet';
import { normalise, type RecordSet, type ZoneStore } from './zone-store.ts';

type Answer = packet.Answer;

function toAnswers(set: RecordSet): Answer[] {
  return set.values.map((value): Answer => {
    switch (set.type) {
      case 'TXT': {
        const chunks: string[] = [];
        for (let i = 0; i < value.length || i === 0; i += 255) chunks.push(value.slice(i, i + 255));
        return { type: 'TXT', name: set.name, ttl: set.ttl, class: 'IN', data: chunks };
      }
      case 'SOA': {
        const [mname, rname, serial, refresh, retry, expire, minimum] = value.split(' ');
        return {
          type: 'SOA',
          name: set.name,
          ttl: set.ttl,
          class: 'IN',
          data: {
            mname: normalise(mname!),
            rname: normalise(rname!),
            serial: Number(serial),
            refresh: Number(refresh),
            retry: Number(retry),
            expire: Number(expire),
            minimum: Number(minimum),
          },
        };
      }
      default:
        return {
          type: set.type,
          name: set.name,
          ttl: set.ttl,
          class: 'IN',
          data: normalise(value),
        } as Answer;
    }
  });
}

/**
 * An authoritative DNS server for the lab's zones, over UDP and TCP on one loopback port. Answers carry the AA
 * bit; UDP answers that do not fit (512 bytes, or the EDNS size) are truncated so resolvers retry over TCP.
 */
export class AuthoritativeServer {
  private udp: Socket | undefined;
  private tcp: Server | undefined;
  private readonly connections = new Set<TcpSocket>();
  port = 0;
  readonly log: { name: string; type: string; transport: 'udp' | 'tcp' }[] = [];
  private dropUdp = 0;

  constructor(private readonly store: ZoneStore) {}

  /** Ignore the next `n` UDP queries (a lost packet: the resolver must retry). */
  dropQueries(n: number): void {
    this.dropUdp += n;
  }

  answer(query: packet.Packet, maxSize: number): Buffer {
    const question = query.questions?.[0];
    const response: packet.Packet = {
      id: query.id ?? 0,
      type: 'response',
      flags: packet.AUTHORITATIVE_ANSWER,
      questions: query.questions ?? [],
      answers: [],
      authorities: [],
    };
    const rcode = (code: number) => {
      response.flags = (response.flags ?? 0) | code;
    };
    if (question) {
      const name = normalise(question.name);
      const zone = this.store.zoneFor(name);
      if (!zone) {
        response.flags = 5; // REFUSED, not authoritative
      } else if (this.store.hidden.has(name)) {
        rcode(3);
        response.authorities = toAnswers(this.store.get(zone, zone.name, 'SOA')!);
      } else {
        const exact = this.store.get(zone, name, question.type);
        const cname = question.type !== 'CNAME' ? this.store.get(zone, name, 'CNAME') : undefined;
        if (exact) response.answers = toAnswers(exact);
        else if (cname) {
          // Like a real server that is authoritative for the target too, follow the chain within our zones.
          response.answers = toAnswers(cname);
          const target = normalise(cname.values[0] ?? '');
          const targetZone = this.store.zoneFor(target);
          const chased =
            targetZone && !this.store.hidden.has(target)
              ? this.store.get(targetZone, target, question.type)
              : undefined;
          if (chased) response.answers.push(...toAnswers(chased));
        } else {
          if (!this.store.namesIn(zone).has(name)) rcode(3); // NXDOMAIN; else NODATA
          response.authorities = toAnswers(this.store.get(zone, zone.name, 'SOA')!);
        }
      }
    }
    let wire = packet.encode(response);
    if (wire.length > maxSize) {
      response.answers = [];
      response.authorities = [];
      response.flags = (response.flags ?? 0) | packet.TRUNCATED_RESPONSE;
      wire = packet.encode(response);
    }
    return wire;
  }

  async start(port = 0): Promise<number> {
    this.tcp = createServer((socket) => this.serveTcp(socket));
    await new Promise<void>((resolve, reject) => {
      this.tcp!.once('error', reject);
      this.tcp!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.tcp.address() as { port: number }).port;
    // Pebble validates every name of an order at once (TXT plus CAA up the tree): hundreds of datagrams in a
    // burst overflow the default 208 KiB receive buffer, and dropped queries become validation failures.
    this.udp = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    this.udp.on('message', (message, remote) => {
      let query: packet.Packet;
      try {
        query = packet.decode(message);
      } catch {
        return;
      }
      const q = query.questions?.[0];
      if (q) this.log.push({ name: q.name, type: q.type, transport: 'udp' });
      if (this.dropUdp > 0) {
        this.dropUdp--;
        return;
      }
      const opt = query.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
      this.udp?.send(
        this.answer(query, Math.max(512, opt?.udpPayloadSize ?? 512)),
        remote.port,
        remote.address,
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.udp!.once('error', reject);
      this.udp!.bind(this.port, '127.0.0.1', () => resolve());
    });
    return this.port;
  }

  private serveTcp(socket: TcpSocket): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 2) {
        const length = buffer.readUInt16BE(0);
        if (buffer.length < 2 + length) break;
        const message = buffer.subarray(2, 2 + length);
        buffer = buffer.subarray(2 + length);
        try {
          const query = packet.decode(message);
          const q = query.questions?.[0];
          if (q) this.log.push({ name: q.name, type: q.type, transport: 'tcp' });
          const wire = this.answer(query, 65535);
          const framed = Buffer.alloc(2 + wire.length);
          framed.writeUInt16BE(wire.length, 0);
          wire.copy(framed, 2);
          socket.write(framed);
        } catch {
          socket.destroy();
          return;
        }
      }
    });
  }

  async stop(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
  }
}
