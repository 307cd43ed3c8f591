// NAT-PMP (RFC 6886) client: the external address and port mappings, asked of the default gateway on
// UDP 5351. Answers are fixed-size datagrams: anything else, or from anyone but the gateway, is
// ignored; a request is sent again a few times (UDP is lossy) within requestMs, then given up.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';

export const PMP_PORT = 5351;
export const PMP_LIMITS = { requestMs: 2500, firstRetryMs: 250 };

const RESULTS = ['success', 'unsupported version', 'not authorized or refused', 'network failure', 'out of resources', 'unsupported opcode'];

/** The gateway answered with a result code other than success. */
export class PmpError extends Error {
  constructor(readonly result: number) {
    super(`${RESULTS[result] ?? `result ${result}`} (NAT-PMP)`);
  }
}

/** No answer from the gateway within the time. */
export class PmpSilence extends Error {}

/** The IPv4 default gateways from the kernel's routing table (Linux); [] elsewhere or when unreadable. */
export function defaultGateways(routeFile = '/proc/net/route'): string[] {
  let text: string;
  try {
    text = fs.readFileSync(routeFile, 'latin1').slice(0, 64 * 1024);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || f[1] !== '00000000' || !/^[0-9A-F]{8}$/i.test(f[2]!) || f[2] === '00000000') continue;
    const n = parseInt(f[2]!, 16); // little-endian in the file
    const ip = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
    if (!out.includes(ip)) out.push(ip);
  }
  return out.slice(0, 4);
}

/**
 * Send a request to the gateway (`req`, or built from the local address the gateway is reached
 * from) until `accept` takes an answer (its bytes) or names an error; other datagrams are ignored.
 */
export function ask(
  gateway: string,
  req: Buffer | ((localAddress: string) => Buffer),
  accept: (msg: Buffer) => Buffer | Error | null,
  requestMs = PMP_LIMITS.requestMs,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    let wait = PMP_LIMITS.firstRetryMs;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    let bytes: Buffer | undefined;
    const end = (fn: () => void) => {
      if (done) return; // an error after the answer (or the deadline) changes nothing
      done = true;
      clearTimeout(timer);
      clearTimeout(deadline);
      s.close();
      fn();
    };
    const deadline = setTimeout(
      () => end(() => reject(new PmpSilence(`no answer on port ${PMP_PORT} from ${gateway} within ${requestMs / 1000} s`))),
      requestMs,
    );
    const send = () => {
      if (done) return;
      bytes ??= typeof req === 'function' ? req(s.address().address) : req;
      s.send(bytes, () => {}); // connected: only the gateway's answers arrive
      timer = setTimeout(send, wait);
      wait *= 2;
    };
    s.on('error', (e) => end(() => reject(new Error(`port mapping request to ${gateway}: ${e.message}`))));
    s.on('message', (msg, rinfo) => {
      if (rinfo.address !== gateway || rinfo.port !== PMP_PORT) return;
      const r = accept(msg);
      if (r instanceof Error) end(() => reject(r));
      else if (r) end(() => resolve(r));
    });
    s.connect(PMP_PORT, gateway, (e?: Error) => (e ? end(() => reject(e)) : send()));
  });
}

/** A NAT-PMP answer to opcode `op` of `size` bytes (or its error). */
const pmpAnswer =
  (op: number, size: number) =>
  (msg: Buffer): Buffer | Error | null => {
    if (msg.length < 4 || msg[0] !== 0 || msg[1] !== 128 + op) return null;
    const result = msg.readUInt16BE(2);
    if (result !== 0) return new PmpError(result);
    return msg.length === size ? msg : null;
  };

/** The gateway's external IPv4 address. */
export async function pmpExternalAddress(gateway: string, requestMs = PMP_LIMITS.requestMs): Promise<string> {
  const m = await ask(gateway, Buffer.from([0, 0]), pmpAnswer(0, 12), requestMs);
  return [...m.subarray(8, 12)].join('.');
}

/** Map (or, with lifetime 0, remove) a port; what the gateway granted. */
export async function pmpMap(
  gateway: string,
  protocol: 'TCP' | 'UDP',
  internalPort: number,
  externalPort: number,
  lifetimeS: number,
  requestMs = PMP_LIMITS.requestMs,
): Promise<{ externalPort: number; lifetimeS: number }> {
  const op = protocol === 'UDP' ? 1 : 2;
  const req = Buffer.alloc(12);
  req[1] = op;
  req.writeUInt16BE(internalPort, 4);
  req.writeUInt16BE(externalPort, 6);
  req.writeUInt32BE(lifetimeS, 8);
  const m = await ask(gateway, req, pmpAnswer(op, 16), requestMs);
  if (m.readUInt16BE(8) !== internalPort) throw new Error(`the NAT-PMP answer from ${gateway} is for another port`);
  return { externalPort: m.readUInt16BE(10), lifetimeS: m.readUInt32BE(12) };
}
