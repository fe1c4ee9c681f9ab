// Seed provider stand-ins on loopback for tests: a Florida HTTP server and a DNS responder that
// answers TXT queries from a zone. Both read their answers from objects the test may change at any
// time (a seed list that grows, a record that goes away).
import { createServer, type Server } from 'node:http';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface FloridaStub {
  readonly port: number;
  /** path -> body (200); a missing path is 404, '/slow' never answers, '/500' is HTTP 500. */
  readonly bodies: Record<string, string>;
  /** GET requests seen, by path. */
  readonly hits: Record<string, number>;
  close(): Promise<void>;
}

export async function startFlorida(bodies: Record<string, string>): Promise<FloridaStub> {
  const hits: Record<string, number> = {};
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits[path] = (hits[path] ?? 0) + 1;
    if (path === '/slow') return; // never answers
    if (path === '/500') {
      res.writeHead(500).end('boom');
      return;
    }
    const body = bodies[path];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    bodies,
    hits,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export interface DnsStub {
  readonly port: number;
  /** name (lower case) -> TXT records; a name not here is NXDOMAIN. */
  readonly zone: Record<string, string[]>;
  /** Queries seen, by name. */
  readonly hits: Record<string, number>;
  close(): void;
}

/** Question name (lowercased) and where the question section ends. */
function readQuestion(q: Buffer): { name: string; end: number } {
  const labels: string[] = [];
  let p = 12;
  while (q[p]! !== 0) {
    labels.push(q.subarray(p + 1, p + 1 + q[p]!).toString('latin1'));
    p += 1 + q[p]!;
  }
  return { name: labels.join('.').toLowerCase(), end: p + 5 }; // zero byte + qtype + qclass
}

/** One TXT rdata: the text in <=255-byte character-strings. */
function txtRdata(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

/** Header (id echoed, QR+RD+RA, rcode), the question echoed, one TXT answer per record. */
function dnsReply(zone: Record<string, string[]>, q: Buffer, name: string, end: number): Buffer {
  const qtype = q.readUInt16BE(end - 4);
  const records = qtype === 16 ? zone[name] : undefined;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8180 | (zone[name] === undefined ? 3 : 0), 2); // rcode 3 = NXDOMAIN
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records?.length ?? 0, 6);
  const answers = (records ?? []).map((text) => {
    const rdata = txtRdata(text);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // name: pointer to the question's name
    rr.writeUInt16BE(16, 2); // TXT
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(60, 6); // TTL
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header, q.subarray(12, end), ...answers]);
}

export async function startDns(zone: Record<string, string[]>): Promise<DnsStub> {
  const hits: Record<string, number> = {};
  const sock: Socket = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    const { name, end } = readQuestion(msg);
    hits[name] = (hits[name] ?? 0) + 1;
    sock.send(dnsReply(zone, msg, name, end), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, zone, hits, close: () => sock.close() };
}
