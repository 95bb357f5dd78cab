import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SettingError, boolean, endpoint, helpFor, integer, list, readSettings, secret, text, url, zkConnect } from '../src/index.js';

const spec = {
  zk: zkConnect('CLOVER_ZK', { help: 'ZooKeeper', required: true }),
  bind: endpoint('CLOVER_DISPATCH_BIND', { help: 'bind', fallback: 'tcp://127.0.0.1:7710' }),
  capacity: integer('CLOVER_CAPACITY', { help: 'capacity', fallback: 4, min: 1 }),
  groups: list('CLOVER_GROUPS', { help: 'groups', fallback: [] }),
  smtp: url('CLOVER_SMTP_URL', { help: 'smtp', schemes: ['smtp', 'smtps'] }),
  id: text('CLOVER_NODE_ID', { help: 'id', fallback: () => 'computed' }),
  shell: boolean('CLOVER_ALLOW_SHELL', { help: 'shell', fallback: true }),
};

test('defaults, parsing, and the environment over the file', () => {
  const s = readSettings(spec, { CLOVER_ZK: 'zk1:2181,zk2:2181', CLOVER_GROUPS: 'a, b,,c', CLOVER_CAPACITY: '8' });
  assert.deepEqual(s, {
    zk: 'zk1:2181,zk2:2181',
    bind: 'tcp://127.0.0.1:7710',
    capacity: 8,
    groups: ['a', 'b', 'c'],
    smtp: undefined,
    id: 'computed',
    shell: true,
  });
  assert.equal(readSettings(spec, { CLOVER_ZK: 'memory', CLOVER_ALLOW_SHELL: 'off' }).shell, false);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
  const file = path.join(dir, 'clover.json');
  writeFileSync(file, JSON.stringify({ CLOVER_ZK: 'file:2181', CLOVER_CAPACITY: 2 }));
  const f = readSettings(spec, { CLOVER_CONFIG: file, CLOVER_CAPACITY: '3' });
  assert.deepEqual([f.zk, f.capacity], ['file:2181', 3]);
});

test('a bad or missing setting names itself', () => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{}, /CLOVER_ZK: is required/],
    [{ CLOVER_ZK: 'nope' }, /CLOVER_ZK: expected host:port/],
    [{ CLOVER_ZK: 'memory', CLOVER_CAPACITY: '0' }, /CLOVER_CAPACITY: expected a whole number from 1/],
    [{ CLOVER_ZK: 'memory', CLOVER_DISPATCH_BIND: 'localhost:1' }, /CLOVER_DISPATCH_BIND: expected tcp:\/\/host:port/],
    [{ CLOVER_ZK: 'memory', CLOVER_SMTP_URL: 'http://x' }, /CLOVER_SMTP_URL: expected a smtp or smtps URL/],
    [{ CLOVER_ZK: 'memory', CLOVER_CONFIG: '/nonexistent.json' }, /CLOVER_CONFIG: cannot read/],
    [{ CLOVER_ZK: 'memory', CLOVER_ALLOW_SHELL: 'maybe' }, /CLOVER_ALLOW_SHELL: expected true or false/],
  ];
  for (const [env, re] of bad)
    assert.throws(
      () => readSettings(spec, env),
      (e: Error) => e instanceof SettingError && re.test(e.message),
      String(re),
    );
  assert.match(helpFor(spec), /CLOVER_DISPATCH_BIND\s+bind \[default: "tcp:\/\/127.0.0.1:7710"\]/);
});

test('secrets: from the variable or from <NAME>_FILE, never shown in an error or in --help', () => {
  const secretSpec = {
    auth: secret('CLOVER_ZK_AUTH', {
      help: 'user:password',
      parse: (raw) => {
        if (!raw.includes(':')) throw new Error('expected user:password');
        return raw;
      },
    }),
    mongo: url('CLOVER_MONGO_URL', { help: 'MongoDB', schemes: ['mongodb'], secret: true }),
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-secret-'));
  const file = path.join(dir, 'zk-auth');
  writeFileSync(file, 'clover:from-a-file\n');
  assert.equal(readSettings(secretSpec, { CLOVER_ZK_AUTH_FILE: file }).auth, 'clover:from-a-file', 'one trailing newline dropped');
  assert.equal(
    readSettings(secretSpec, { CLOVER_ZK_AUTH: 'clover:env', CLOVER_ZK_AUTH_FILE: file }).auth,
    'clover:env',
    'the variable wins',
  );
  assert.equal(readSettings(secretSpec, {}).auth, undefined);
  const refused = (env: Record<string, string>) => {
    try {
      readSettings(secretSpec, env);
    } catch (err) {
      return err as SettingError;
    }
    throw new Error('accepted');
  };
  const noColon = refused({ CLOVER_ZK_AUTH: 'hunter2-without-a-colon' });
  assert.equal(noColon.message, 'CLOVER_ZK_AUTH: is not valid: expected user:password');
  const badUrl = refused({ CLOVER_MONGO_URL: 'http://admin:hunter2@db/clover' });
  assert.equal(badUrl.message, 'CLOVER_MONGO_URL: is not valid: MongoDB');
  assert.doesNotMatch(badUrl.message, /hunter2/);
  const missing = refused({ CLOVER_ZK_AUTH_FILE: path.join(dir, 'nope') });
  assert.match(missing.message, /^CLOVER_ZK_AUTH_FILE: cannot read .*nope: ENOENT$/);
  assert.match(helpFor(secretSpec), /CLOVER_ZK_AUTH \(or CLOVER_ZK_AUTH_FILE\)/);
});
