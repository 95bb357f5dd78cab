import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { EgressClient } from '../src/executors/egress-client.js';
import { checkUrl, specialAddress } from '../src/executors/egress.js';
import { runHttp } from '../src/executors/http.js';
import { OutputTail } from '../src/output.js';

// An HTTP job is a request made from inside the agent's network for whoever may create jobs; by
// default it may reach public addresses only, checked on the address the socket uses and on every
// redirect (issue 21; the shape of XXL-JOB #3002).

let server: http.Server;
let base: string;
const hits: string[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/open/hop') res.writeHead(302, { location: '/secret' }).end();
    else if (req.url === '/open/accepted') res.writeHead(202, { 'content-type': 'text/plain' }).end('queued');
    else if (req.url === '/open/gone') res.writeHead(404, { 'content-type': 'text/plain' }).end('no such thing');
    else if (req.url === '/open/see-other') res.writeHead(303, { location: '/open/landing' }).end();
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} ${req.url}`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('special addresses, IPv4 and IPv6, including IPv6 forms that carry an IPv4 address', () => {
  assert.match(specialAddress('169.254.169.254') ?? '', /link-local/);
  assert.match(specialAddress('127.0.0.1') ?? '', /loopback/);
  assert.match(specialAddress('127.8.9.10') ?? '', /loopback/);
  assert.match(specialAddress('10.1.2.3') ?? '', /private/);
  assert.match(specialAddress('172.31.255.255') ?? '', /private/);
  assert.match(specialAddress('192.168.0.1') ?? '', /private/);
  assert.match(specialAddress('100.64.0.1') ?? '', /carrier-grade/);
  assert.match(specialAddress('0.0.0.0') ?? '', /unspecified/);
  assert.match(specialAddress('::1') ?? '', /loopback/);
  assert.match(specialAddress('fe80::1') ?? '', /link-local/);
  assert.match(specialAddress('fd00:ec2::254') ?? '', /unique local/);
  assert.match(specialAddress('::ffff:169.254.169.254') ?? '', /link-local/);
  assert.match(specialAddress('::ffff:7f00:1') ?? '', /loopback/);
  assert.match(specialAddress('64:ff9b::a9fe:a9fe') ?? '', /link-local/);
  assert.match(specialAddress('2002:7f00:1::') ?? '', /loopback/);
  for (const pub of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
    assert.equal(specialAddress(pub), null, pub);
  }
});

test('URL prefixes compare scheme, host, port and path start, not the text', () => {
  const policy = { allowPrivate: true, urlPrefixes: ['https://api.example.com/v1/'] };
  checkUrl(new URL('https://api.example.com/v1/jobs?x=1'), policy);
  for (const bad of [
    'https://api.example.com.evil.test/v1/',
    'http://api.example.com/v1/',
    'https://api.example.com:444/v1/',
    'https://api.example.com/v2/',
  ]) {
    assert.throws(() => checkUrl(new URL(bad), policy), /outside this agent's allowed URL prefixes/, bad);
  }
  assert.throws(() => checkUrl(new URL('file:///etc/passwd'), {}), /not HTTP/);
});

test('default policy: metadata, loopback by address and loopback by name all fail with a clear error, and no request is made', async () => {
  const egress = new EgressClient({});
  try {
    const before = hits.length;
    const cases: [url: string, error: RegExp][] = [
      [
        'http://169.254.169.254/latest/meta-data/',
        /^refused: 169\.254\.169\.254 is a link-local address \(cloud metadata services live there\)/,
      ],
      [`${base}/x`, /^refused: 127\.0\.0\.1 is a loopback address; this agent calls public addresses only/],
      [`${base.replace('127.0.0.1', 'localhost')}/x`, /^refused: localhost, which resolves to (127\.0\.0\.1|::1), is a loopback address/],
      [`${base.replace('127.0.0.1', '[::ffff:127.0.0.1]')}/x`, /^refused: ::ffff:7f00:1 is a loopback address/],
    ];
    for (const [url, error] of cases) {
      const outcome = await runHttp(
        { type: 'http', method: 'GET', url, headers: {} },
        new AbortController().signal,
        new OutputTail(),
        egress,
      );
      assert.equal(outcome.exitCode, null, url);
      assert.match(outcome.error ?? '', error, url);
    }
    assert.equal(hits.length, before, 'no request reached the server');
  } finally {
    await egress.close();
  }
});

test('private addresses allowed: the call goes through; each redirect hop is checked against the URL prefixes before it is requested', async () => {
  const egress = new EgressClient({ allowPrivate: true, urlPrefixes: [`${base}/open/`] });
  try {
    const ok = await runHttp(
      { type: 'http', method: 'POST', url: `${base}/open/see-other`, headers: {}, body: 'x' },
      new AbortController().signal,
      new OutputTail(),
      egress,
    );
    assert.deepEqual(ok, { exitCode: 0, error: null });
    assert.ok(hits.includes('/open/landing'), '303 followed as a GET');
    const before = hits.length;
    const hop = await runHttp(
      { type: 'http', method: 'GET', url: `${base}/open/hop`, headers: {} },
      new AbortController().signal,
      new OutputTail(),
      egress,
    );
    assert.match(hop.error ?? '', new RegExp(`^refused: ${base}/secret is outside this agent's allowed URL prefixes`));
    assert.deepEqual(hits.slice(before), ['/open/hop'], 'the redirect target was never requested');
  } finally {
    await egress.close();
  }
});

test("the job's expected statuses decide success: a 202 fails a job expecting 200, a 404 passes one expecting it; none named, below 400 passes", async () => {
  const egress = new EgressClient({ allowPrivate: true, urlPrefixes: [`${base}/open/`] });
  const call = (path: string, expectStatus?: string) =>
    runHttp(
      { type: 'http', method: 'GET', url: `${base}${path}`, headers: {}, ...(expectStatus === undefined ? {} : { expectStatus }) },
      new AbortController().signal,
      new OutputTail(),
      egress,
    );
  try {
    assert.deepEqual(await call('/open/accepted'), { exitCode: 0, error: null }, 'no expectStatus: any status below 400');
    assert.deepEqual(await call('/open/accepted', '200-299'), { exitCode: 0, error: null });
    assert.deepEqual(await call('/open/accepted', '200'), { exitCode: 202, error: 'HTTP 202 Accepted: queued' });
    assert.deepEqual(await call('/open/gone', '200-299, 404'), { exitCode: 0, error: null });
    assert.deepEqual(await call('/open/gone'), { exitCode: 404, error: 'HTTP 404 Not Found: no such thing' });
  } finally {
    await egress.close();
  }
});
