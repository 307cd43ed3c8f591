// PCP (RFC 6887) MAP client: NAT-PMP's successor, on the same UDP port 5351. Asked only when the
// gateway answers NAT-PMP with "unsupported version" (a PCP-only router, RFC 6887 §9), or when a
// test asks for it. A request and its answer are 60 bytes (header and MAP opcode, no options);
// anything else, or an answer with another nonce, is ignored (portmap-pmp.ts `ask`).
import { randomBytes } from 'node:crypto';
import { ask } from './portmap-pmp.js';

const RESULTS = [
  'success',
  'unsupported version',
  'not authorized',
  'malformed request',
  'unsupported opcode',
  'unsupported option',
  'malformed option',
  'network failure',
  'no resources',
  'unsupported protocol',
  'user exceeded quota',
  'cannot provide the external port',
  'address mismatch',
  'excessive remote peers',
];
const SIZE = 60;
const MAP = 1;

/** The gateway answered with a result code other than success. */
export class PcpError extends Error {
  constructor(readonly result: number) {
    super(`${RESULTS[result] ?? `result ${result}`} (PCP)`);
  }
}

/** IPv4 as PCP writes it: the IPv4-mapped IPv6 address. */
function mapped(ip: string, into: Buffer, at: number): void {
  into.fill(0, at, at + 16);
  into.writeUInt16BE(0xffff, at + 10);
  ip.split('.').forEach((x, i) => (into[at + 12 + i] = Number(x) & 255));
}

/** A mapping's identity for the gateway: each renewal and the removal must carry the same nonce. */
export const pcpNonce = (): Buffer => randomBytes(12);

/** Map (or, with lifetime 0, remove) a port; what the gateway granted, and its external address. */
export async function pcpMap(
  gateway: string,
  nonce: Buffer,
  protocol: 'TCP' | 'UDP',
  internalPort: number,
  externalPort: number,
  lifetimeS: number,
  requestMs?: number,
): Promise<{ externalPort: number; lifetimeS: number; externalAddress: string | null }> {
  const build = (local: string): Buffer => {
    const req = Buffer.alloc(SIZE);
    req[0] = 2;
    req[1] = MAP;
    req.writeUInt32BE(lifetimeS, 4);
    mapped(local, req, 8);
    nonce.copy(req, 24, 0, 12);
    req[36] = protocol === 'TCP' ? 6 : 17;
    req.writeUInt16BE(internalPort, 40);
    req.writeUInt16BE(externalPort, 42);
    mapped('0.0.0.0', req, 44);
    return req;
  };
  const m = await ask(
    gateway,
    build,
    (msg) => {
      if (msg.length < 4 || msg[0] !== 2 || msg[1] !== 128 + MAP) return null;
      if (msg[3] !== 0) return new PcpError(msg[3]!);
      return msg.length === SIZE && msg.subarray(24, 36).equals(nonce.subarray(0, 12)) ? msg : null;
    },
    requestMs,
  );
  if (m.readUInt16BE(40) !== internalPort) throw new Error(`the PCP answer from ${gateway} is for another port`);
  const v4 = m.readUInt16BE(54) === 0xffff && m.subarray(44, 54).every((b) => b === 0);
  const address = v4 ? [...m.subarray(56, 60)].join('.') : null;
  return { externalPort: m.readUInt16BE(42), lifetimeS: m.readUInt32BE(4), externalAddress: address === '0.0.0.0' ? null : address };
}
