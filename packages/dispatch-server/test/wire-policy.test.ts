import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SettingError } from '@clover/config';
import { freePort, spawnProcess, tempDir } from '@clover/testkit';
import { checkWirePolicy } from '../src/wire-policy.js';

// Off this machine, the ZeroMQ channel needs CURVE (issue 21; docs/security.md "The wire").
const here = path.dirname(fileURLToPath(import.meta.url));
const serverBin = path.join(here, '../src/bin.ts');
const repo = path.resolve(here, '../../..');
const key = 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7';

test('the rule: local plaintext is fine, remote plaintext needs the insecure setting (and warns), CURVE needs allowed keys', () => {
  const base = { curveSecretKey: undefined, curveAllowedKeys: [], insecurePlaintext: false };
  for (const bind of ['tcp://127.0.0.1:7710', 'tcp://localhost:7710', 'ipc:///tmp/clover.sock'])
    assert.equal(checkWirePolicy({ ...base, bind }), null, bind);
  for (const bind of ['tcp://0.0.0.0:7710', 'tcp://*:7710', 'tcp://10.1.2.3:7710']) {
    assert.throws(
      () => checkWirePolicy({ ...base, bind }),
      (err: unknown) => err instanceof SettingError && err.setting === 'CLOVER_CURVE_SECRET_KEY' && err.message.includes(bind),
    );
    assert.match(
      checkWirePolicy({ ...base, bind, insecurePlaintext: true }) ?? '',
      /^plaintext ZeroMQ on .*: anyone who reaches this port can take jobs/,
    );
  }
  assert.equal(checkWirePolicy({ ...base, bind: 'tcp://0.0.0.0:7710', curveSecretKey: key, curveAllowedKeys: ['k'] }), null);
  assert.throws(
    () => checkWirePolicy({ ...base, bind: 'tcp://127.0.0.1:7710', curveSecretKey: key }),
    (err: unknown) => err instanceof SettingError && err.setting === 'CLOVER_CURVE_ALLOWED_KEYS',
  );
});

test('the bin: bound to every interface without CURVE it refuses to start (exit 2, the setting named); told it may, it starts and warns', async () => {
  const dir = await tempDir('clover-wire-');
  const env = { CLOVER_ZK: 'memory:wire-policy', CLOVER_METRICS_PORT: '0', CLOVER_DATA_DIR: dir.path, CLOVER_NODE_ID: 'wire-1' };
  try {
    const refused = spawnProcess(process.execPath, ['--conditions=source', '--import', 'tsx', serverBin], {
      name: 'refused',
      cwd: repo,
      env: { ...env, CLOVER_DISPATCH_BIND: `tcp://0.0.0.0:${await freePort()}` },
    });
    assert.equal(await refused.waitForExit(60_000), 2);
    assert.match(
      refused.output(),
      /clover-dispatch-server: bad setting: CLOVER_CURVE_SECRET_KEY: is required when CLOVER_DISPATCH_BIND \(tcp:\/\/0\.0\.0\.0:\d+\)/,
    );
    assert.doesNotMatch(refused.output(), /dispatch-server started/);

    const told = spawnProcess(process.execPath, ['--conditions=source', '--import', 'tsx', serverBin], {
      name: 'told',
      cwd: repo,
      env: { ...env, CLOVER_DISPATCH_BIND: `tcp://0.0.0.0:${await freePort()}`, CLOVER_INSECURE_PLAINTEXT: 'true' },
    });
    try {
      await told.waitForOutput(/dispatch-server started/, 60_000);
      assert.match(told.output(), /plaintext ZeroMQ on tcp:\/\/0\.0\.0\.0:\d+ \(CLOVER_INSECURE_PLAINTEXT=true\)/);
    } finally {
      await told.kill('SIGTERM');
    }
  } finally {
    await dir.cleanup();
  }
});
