// Router port mapping (issue 18, app/net/portmap*.ts). The parsers of what a router sends run here;
// everything that talks to a router runs in test/fixtures/portmap-scenarios.ts, a node:test file
// started inside a private network namespace (test/netns.ts) where it sets up Debian's miniupnpd
// on a veth pair, and hostile routers of its own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defaultGateways } from '../app/net/portmap-pmp.js';
import { connectionService, ssdpLocation, xmlField } from '../app/net/portmap-upnp.js';
import { netnsAvailable, NETNS_SKIP_REASON, runInNetns } from './netns.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MINIUPNPD = '/usr/sbin/miniupnpd';

test('an SSDP answer is taken only from a gateway that names itself, over plain http', () => {
  const ok = Buffer.from(
    'HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: http://192.168.1.1:5000/rootDesc.xml\r\n\r\n',
  );
  assert.equal(ssdpLocation(ok, '192.168.1.1')?.href, 'http://192.168.1.1:5000/rootDesc.xml');
  assert.equal(ssdpLocation(ok, '192.168.1.66'), null, 'another host may not send us to the router');
  assert.equal(ssdpLocation(Buffer.from('HTTP/1.1 200 OK\r\nLOCATION: https://192.168.1.1/x\r\n\r\n'), '192.168.1.1'), null);
  assert.equal(ssdpLocation(Buffer.from('HTTP/1.1 200 OK\r\nLOCATION: http://169.254.169.254/latest\r\n\r\n'), '192.168.1.1'), null);
  assert.equal(ssdpLocation(Buffer.from('NOTIFY * HTTP/1.1\r\nLOCATION: http://192.168.1.1/\r\n\r\n'), '192.168.1.1'), null);
  assert.equal(ssdpLocation(Buffer.alloc(60_000, 0x41), '192.168.1.1'), null);
  assert.equal(ssdpLocation(Buffer.from('HTTP/1.1 200 OK\r\nLOCATION: ::::\r\n\r\n'), '192.168.1.1'), null);
});

test("a description's port-mapping service: the best one, its control URL only on the gateway itself", () => {
  const loc = new URL('http://192.168.1.1:5000/rootDesc.xml');
  const svc = (type: string, ctl: string) => `<service><serviceType>${type}</serviceType><controlURL>${ctl}</controlURL></service>`;
  const v1 = svc('urn:schemas-upnp-org:service:WANIPConnection:1', '/ctl/IPConn');
  const ppp = svc('urn:schemas-upnp-org:service:WANPPPConnection:1', '/ctl/PPP');
  assert.equal(connectionService(`<root>${ppp}${v1}</root>`, loc)?.controlUrl.href, 'http://192.168.1.1:5000/ctl/IPConn');
  assert.equal(connectionService(`<root>${ppp}</root>`, loc)?.serviceType, 'urn:schemas-upnp-org:service:WANPPPConnection:1');
  assert.equal(connectionService(`<root>${svc('urn:schemas-upnp-org:service:WANIPConnection:1', 'http://10.0.0.9/ctl')}</root>`, loc), null);
  assert.equal(connectionService(`<root><URLBase>http://192.168.1.1:6000/</URLBase>${v1}</root>`, loc)?.controlUrl.href, 'http://192.168.1.1:6000/ctl/IPConn');
  assert.equal(connectionService('<root>' + '<service>'.repeat(5000) + '</root>', loc), null);
  assert.equal(xmlField('<s:Body><u:R><NewExternalIPAddress> 1.2.3.4 </NewExternalIPAddress></u:R></s:Body>', 'NewExternalIPAddress'), '1.2.3.4');
  assert.equal(xmlField('<e><errorDescription>A &amp; B</errorDescription></e>', 'errorDescription'), 'A & B');
});

test("the default gateway is read from the kernel's routing table", () => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'drayer-route-')), 'route');
  fs.writeFileSync(
    f,
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
      'eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n' +
      'eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n',
  );
  assert.deepEqual(defaultGateways(f), ['192.168.1.1']);
  assert.deepEqual(defaultGateways(path.join(f, 'none')), []);
});

test(
  'a real IGD (miniupnpd) in a private network namespace: map, renew, remove; no router; hostile routers',
  {
    skip: !netnsAvailable()
      ? NETNS_SKIP_REASON
      : !fs.existsSync(MINIUPNPD)
        ? `needs ${MINIUPNPD} (Debian package miniupnpd-nftables, installed by .ci/run)`
        : false,
  },
  async (t) => {
    assert.equal(spawnSync('pgrep', ['-x', 'miniupnpd']).status, 1, 'no miniupnpd runs outside the test namespace');
    const r = await runInNetns(
      process.execPath,
      ['--enable-source-maps', '--test', '--test-reporter=spec', path.join(here, 'fixtures', 'portmap-scenarios.js')],
      {
        // without NODE_TEST_CONTEXT, or the inner runner reports to this one's channel instead of its stdout
        env: { ...process.env, NODE_TEST_CONTEXT: undefined, DRAYER_PORTMAP_CHILD: '1', DRAYER_PORTMAP_PARENT_NS: fs.readlinkSync('/proc/self/ns/net') },
        timeoutMs: 240_000,
      },
    );
    assert.equal(r.timedOut, false, `the scenarios ran past 240 s:\n${r.stdout}\n${r.stderr}`);
    assert.equal(r.code, 0, `the scenarios failed:\n${r.stdout}\n${r.stderr}`);
    for (const line of r.stdout.split('\n').filter((l) => /^[✔✖]/.test(l))) t.diagnostic(line);
    assert.match(r.stdout, /ℹ pass 18\b/, 'every scenario ran');
    assert.match(r.stdout, /ℹ fail 0/);
    assert.equal(spawnSync('pgrep', ['-x', 'miniupnpd']).status, 1, 'miniupnpd ended with its namespace');
  },
);
