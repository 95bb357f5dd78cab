import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHostNetwork, removeHostNetwork, spawnProcess } from '../src/index.js';

// Root alone is not enough (a container without CAP_NET_ADMIN or CAP_SYS_ADMIN): try one.
const canNetns = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'add', 'clvkt-probe'], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'delete', 'clvkt-probe'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const skip = canNetns ? false : 'needs root (ip netns)';
const prefix = 'clvkt';
const namespaces = () =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`))
    .sort();

/** Whether a TCP connection made on the host of `command` to address:port is answered within 1 s (refused counts: the host is there). */
function reaches(command: (cmd: string, args: readonly string[]) => [string, string[]], address: string, port: number): boolean {
  const script = `const s=require('net').connect(${port},'${address}');s.on('connect',()=>process.exit(0));s.on('error',(e)=>process.exit(e.code==='ECONNREFUSED'?0:2));setTimeout(()=>process.exit(3),1000);`;
  const [cmd, args] = command(process.execPath, ['-e', script]);
  return spawnSync(cmd, args, { timeout: 10_000 }).status === 0;
}

test(
  'hosts of their own: each reaches the others; a cut host reaches and is reached by none until healed; close removes it all',
  { skip },
  async () => {
    const net = await createHostNetwork(['a', 'b'], { prefix });
    try {
      const a = net.host('a');
      const b = net.host('b');
      assert.notEqual(a.address, b.address);
      assert.deepEqual(namespaces(), [`${prefix}-a`, `${prefix}-b`, `${prefix}-net`]);
      assert.ok(reaches(a.command, b.address, 9), 'a reaches b');
      await net.cut('b');
      assert.deepEqual([...net.cutOff], ['b']);
      assert.equal(reaches(a.command, b.address, 9), false, 'a does not reach b, cut off');
      assert.equal(reaches(b.command, a.address, 9), false, 'b does not reach a');
      await net.heal('b');
      assert.ok(reaches(a.command, b.address, 9), 'a reaches b again');
    } finally {
      await net.close();
    }
    assert.deepEqual(namespaces(), []);
  },
);

test(
  'a process holding a network that is told to stop (SIGTERM) leaves no namespace; one SIGKILLed is swept at the next start',
  { skip },
  async () => {
    const holder = (name: string) =>
      spawnProcess(
        process.execPath,
        [
          '--conditions=source',
          '--import',
          'tsx',
          '-e',
          `import('@clover/testkit').then(async (t) => { await t.createHostNetwork(['x'], { prefix: '${prefix}' }); console.log('up'); setInterval(() => undefined, 1000); })`,
        ],
        { name },
      );
    try {
      const first = holder('holder');
      await first.waitForOutput(/up/, 30_000);
      assert.equal(namespaces().length, 2);
      await first.kill('SIGTERM');
      assert.deepEqual(namespaces(), []);
      const second = holder('holder, SIGKILLed');
      await second.waitForOutput(/up/, 30_000);
      await second.kill('SIGKILL');
      assert.equal(namespaces().length, 2, 'SIGKILL leaves them');
      const net = await createHostNetwork(['y'], { prefix });
      assert.deepEqual(namespaces(), [`${prefix}-net`, `${prefix}-y`], 'only the new network');
      await net.close();
    } finally {
      removeHostNetwork(prefix);
    }
    assert.deepEqual(namespaces(), []);
  },
);
