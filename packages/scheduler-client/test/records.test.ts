import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanUp, tempDir, type CleanupStep, type TempDir } from '@clover/testkit';
import { noopLogger } from '@clover/telemetry';
import { GroupRecords, type GroupRecord } from '../src/orphans/records.js';

// The data directory's records, against real processes: what a sweep kills and what it must not.
let dir: TempDir;
const groups: number[] = [];
const opened: CleanupStep[] = [];
before(async () => {
  dir = await tempDir('clover-records-');
  opened.push(['temp dir', () => dir.cleanup()]);
});
after(() =>
  cleanUp([
    ...groups.map(
      (g) =>
        [
          `group ${g}`,
          () => {
            try {
              process.kill(-g, 'SIGKILL');
            } catch {
              /* gone */
            }
          },
        ] as const,
    ),
    ...opened,
  ]),
);

const stat = (pid: number) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
};
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !['Z', 'X'].includes(stat(pid)[0]!);
const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

function sleeper(): number {
  const child = spawn('sleep', ['120'], { detached: true, stdio: 'ignore' });
  child.unref();
  groups.push(child.pid!);
  return child.pid!;
}

/** A pid that no process has now: an agent that died. */
const deadPid = spawnSync('true').pid;

function write(data: string, r: Partial<GroupRecord> & { pgid: number }): void {
  mkdirSync(path.join(data, 'process-groups'), { recursive: true });
  const full: GroupRecord = {
    execId: `e@${r.pgid}`,
    startTime: r.startTime ?? Number(stat(r.pgid)[19]),
    bootId: boot,
    agentId: 'a',
    agentPid: deadPid,
    agentStartTime: 1,
    startedAt: 1,
    ...r,
  };
  writeFileSync(path.join(data, 'process-groups', `${r.pgid}.json`), JSON.stringify(full));
}

test("a sweep kills a group its dead agent left, and leaves alone a pid reused by another process, another boot's record, and a live agent's", async () => {
  const data = path.join(dir.path, 'd1');
  const [left, reused, otherBoot, liveOwners] = [sleeper(), sleeper(), sleeper(), sleeper()];
  write(data, { pgid: left });
  write(data, { pgid: reused, startTime: Number(stat(reused)[19]) - 1 });
  write(data, { pgid: otherBoot, bootId: 'another-boot' });
  write(data, { pgid: liveOwners, agentPid: process.pid, agentStartTime: Number(stat(process.pid)[19]) });
  writeFileSync(path.join(data, 'process-groups', 'junk.json'), '{not json');
  const badId = sleeper();
  write(data, { pgid: badId, execId: 'x'.repeat(600) });
  const found = await new GroupRecords(data, 'a', noopLogger).sweep();
  assert.deepEqual(
    found.map((f) => [f.pgid, f.killed]).sort(),
    [
      [left, true],
      [otherBoot, false],
      [reused, false],
    ].sort(),
  );
  assert.equal(alive(left), false);
  assert.ok(alive(reused) && alive(otherBoot) && alive(liveOwners));
  assert.ok(alive(badId), "a record whose exec id breaks the protocol's bound is dropped as unreadable, never acted on");
  assert.deepEqual(readdirSync(path.join(data, 'process-groups')), [`${liveOwners}.json`], "swept records removed; the live agent's kept");
});

test('a group whose leader is gone but whose members live is still killed', async () => {
  const data = path.join(dir.path, 'd2');
  // The shell (the leader) exits at once; its background sleep stays in the group.
  const child = spawn('sh', ['-c', 'sleep 120 & echo $!; read x'], { detached: true, stdio: ['pipe', 'pipe', 'ignore'] });
  groups.push(child.pid!);
  const member = Number(await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))));
  const leaderStart = Number(stat(child.pid!)[19]);
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin.end();
  await exited;
  write(data, { pgid: child.pid!, startTime: leaderStart });
  assert.ok(alive(member));
  const found = await new GroupRecords(data, 'a', noopLogger).sweep();
  assert.deepEqual(
    found.map((f) => f.killed),
    [true],
  );
  assert.equal(alive(member), false);
});

test('add and remove: a record exists exactly while its group runs', () => {
  const data = path.join(dir.path, 'd3');
  const records = new GroupRecords(data, 'agent-x', noopLogger);
  const pid = sleeper();
  records.add('job@1', pid, 123);
  const r = JSON.parse(readFileSync(path.join(data, 'process-groups', `${pid}.json`), 'utf8')) as GroupRecord;
  assert.deepEqual([r.execId, r.pgid, r.agentId, r.agentPid, r.startedAt, r.bootId], ['job@1', pid, 'agent-x', process.pid, 123, boot]);
  assert.equal(r.startTime, Number(stat(pid)[19]));
  records.remove(pid);
  assert.deepEqual(readdirSync(path.join(data, 'process-groups')), []);
});
