// UPnP Internet Gateway Device client (IGD v1 and v2): SSDP search, the device description, and the
// three SOAP actions port mapping needs. Every byte comes from whatever answers on the LAN, so every
// step is bounded: datagrams are cut at LIMITS.datagramBytes, the description at descriptionBytes,
// SOAP answers at soapBytes, and each request at requestMs; a gateway may only send us to itself
// (the description's and the control URL's host must be the address that answered the search).
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as os from 'node:os';

export const UPNP_LIMITS = {
  /** how long a search listens for gateways */
  searchMs: 2500,
  /** once one gateway answered, how much longer to wait for others */
  graceMs: 300,
  datagramBytes: 2048,
  descriptionBytes: 64 * 1024,
  soapBytes: 16 * 1024,
  /** one HTTP request, connect to last byte */
  requestMs: 3000,
  /** gateways kept from one search (a LAN flooding answers costs no more) */
  maxGateways: 4,
  /** local addresses a search is sent from */
  maxInterfaces: 8,
};

const SSDP_ADDRESS = '239.255.255.250';
const SSDP_PORT = 1900;
const SEARCH_TARGETS = ['urn:schemas-upnp-org:device:InternetGatewayDevice:1', 'urn:schemas-upnp-org:device:InternetGatewayDevice:2'];
/** The services that map ports, best first (IGD v2 answers v1 actions too). */
const CONNECTION_SERVICES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
];

/** A gateway's port-mapping service, found and described. */
export interface IgdService {
  /** the gateway's address (the one that answered the search) */
  host: string;
  controlUrl: URL;
  serviceType: string;
}

/** The router answered the request with a UPnP error (its code and words). */
export class UpnpError extends Error {
  constructor(
    readonly upnpCode: number,
    readonly description: string,
  ) {
    super(`${description || 'error'} (UPnP error ${upnpCode})`);
  }
}

/** Non-loopback IPv4 addresses to search from (a search sent from each reaches every LAN). */
function searchAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) out.push(a.address);
  return out.slice(0, UPNP_LIMITS.maxInterfaces);
}

/** The LOCATION of an SSDP answer, if it is one from a gateway that names itself; else null. */
export function ssdpLocation(msg: Buffer, from: string): URL | null {
  const text = msg.subarray(0, UPNP_LIMITS.datagramBytes).toString('latin1');
  if (!/^HTTP\/1\.[01] 200\b/.test(text)) return null;
  const m = /\r?\nlocation:[ \t]*([^\r\n]{1,300})/i.exec(text);
  if (!m) return null;
  let url: URL;
  try {
    url = new URL(m[1]!.trim());
  } catch {
    return null;
  }
  // only plain http, and only to the address that answered: a LAN device cannot send us elsewhere
  if (url.protocol !== 'http:' || url.hostname !== from) return null;
  return url;
}

/** Send SSDP searches for an IGD from every LAN address; the description URLs answered, within searchMs. */
export function ssdpSearch(searchMs = UPNP_LIMITS.searchMs): Promise<URL[]> {
  return new Promise((resolve) => {
    const found = new Map<string, URL>();
    const sockets: dgram.Socket[] = [];
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) {
        try {
          s.close();
        } catch {
          // one that never bound is closed already
        }
      }
      resolve([...found.values()]);
    };
    timers.push(setTimeout(finish, searchMs));
    const send = (s: dgram.Socket) => {
      for (const st of SEARCH_TARGETS) {
        const msg = `M-SEARCH * HTTP/1.1\r\nHOST: ${SSDP_ADDRESS}:${SSDP_PORT}\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ${st}\r\n\r\n`;
        s.send(msg, SSDP_PORT, SSDP_ADDRESS, () => {}); // a send that fails (no route) is one answer fewer
      }
    };
    for (const address of searchAddresses()) {
      const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 64 * 1024 });
      sockets.push(s);
      s.on('error', () => {}); // an interface that cannot send: the others may
      s.on('message', (msg, rinfo) => {
        if (done || found.size >= UPNP_LIMITS.maxGateways) return;
        const url = ssdpLocation(msg, rinfo.address);
        if (!url || found.has(url.href)) return;
        found.set(url.href, url);
        if (found.size === 1) timers.push(setTimeout(finish, UPNP_LIMITS.graceMs));
        if (found.size >= UPNP_LIMITS.maxGateways) finish();
      });
      s.bind(0, address, () => {
        if (done) return;
        try {
          s.setMulticastInterface(address);
          s.setMulticastTTL(2);
        } catch {
          return;
        }
        // UDP is lossy: ask three times, early in the window
        send(s);
        timers.push(setTimeout(() => !done && send(s), 400));
        timers.push(setTimeout(() => !done && send(s), 1200));
      });
    }
    if (!sockets.length) finish();
  });
}

interface HttpAnswer {
  status: number;
  text: string;
  /** our own address on the connection (the address the gateway sees us at) */
  localAddress: string;
}

/** One HTTP request with a bounded answer and time; no redirects followed, no keep-alive. */
export function boundedRequest(
  url: URL,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string; maxBytes: number; timeoutMs?: number },
): Promise<HttpAnswer> {
  const timeoutMs = opts.timeoutMs ?? UPNP_LIMITS.requestMs;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error(`${url.host} did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false, maxHeaderSize: 8192 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > opts.maxBytes) return fail(new Error(`${url.host} sent an answer over ${opts.maxBytes / 1024} KB`));
        chunks.push(c);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const localAddress = (res.socket?.localAddress ?? '').replace(/^::ffff:/, '');
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), localAddress });
      });
      res.on('error', fail);
    });
    req.on('error', (e) => fail(new Error(`${url.host}: ${e.message}`)));
    req.end(opts.body);
  });
}

/** The text of the first `<name>` element (any namespace prefix), entities decoded; undefined when absent. */
export function xmlField(xml: string, name: string): string | undefined {
  const m = new RegExp(`<(?:[\\w.-]{1,32}:)?${name}(?:\\s[^>]{0,200})?>([^<]{0,1000})</(?:[\\w.-]{1,32}:)?${name}>`).exec(xml);
  return m ? decodeEntities(m[1]!.trim()) : undefined;
}

function decodeEntities(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos);/g, (_, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e]!);
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The port-mapping service a description offers, its control URL on the same host; null when none. */
export function connectionService(xml: string, location: URL): IgdService | null {
  const base = xmlField(xml, 'URLBase');
  let best: IgdService | null = null;
  let rank = Infinity;
  for (const m of xml.matchAll(/<service>([\s\S]{0,4000}?)<\/service>/g)) {
    const type = xmlField(m[1]!, 'serviceType');
    const control = xmlField(m[1]!, 'controlURL');
    const r = type ? CONNECTION_SERVICES.indexOf(type) : -1;
    if (r < 0 || r >= rank || !control) continue;
    let url: URL;
    try {
      url = new URL(control, base ? new URL(base, location) : location);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' || url.hostname !== location.hostname) continue; // only the gateway itself
    best = { host: location.hostname, controlUrl: url, serviceType: type! };
    rank = r;
  }
  return best;
}

/** Read a gateway's description and find its port-mapping service. */
export async function describeGateway(location: URL): Promise<IgdService> {
  const a = await boundedRequest(location, { maxBytes: UPNP_LIMITS.descriptionBytes });
  if (a.status !== 200) throw new Error(`the gateway at ${location.host} answered HTTP ${a.status} for its description`);
  const svc = connectionService(a.text, location);
  if (!svc) throw new Error(`the device at ${location.host} offers no port mapping (no WANIPConnection service)`);
  return svc;
}

/** Run one SOAP action; the answer's fields, or a UpnpError with the router's own words. */
export async function soapAction(
  svc: IgdService,
  action: string,
  args: [string, string | number][] = [],
): Promise<{ fields: (name: string) => string | undefined; localAddress: string }> {
  const body =
    `<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">` +
    `<s:Body><u:${action} xmlns:u="${svc.serviceType}">` +
    args.map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join('') +
    `</u:${action}></s:Body></s:Envelope>\r\n`;
  const a = await boundedRequest(svc.controlUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: `"${svc.serviceType}#${action}"`, 'Content-Length': Buffer.byteLength(body) },
    body,
    maxBytes: UPNP_LIMITS.soapBytes,
  });
  if (a.status !== 200) {
    const code = Number(xmlField(a.text, 'errorCode'));
    if (Number.isInteger(code)) throw new UpnpError(code, (xmlField(a.text, 'errorDescription') ?? '').slice(0, 120));
    throw new Error(`the router answered HTTP ${a.status} to ${action}`);
  }
  return { fields: (name) => xmlField(a.text, name), localAddress: a.localAddress };
}
