import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '@clover/testkit';
import { ExecJournal, type JournalEntry } from '../src/journal.js';

const lines = async (file: string) =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JournalEntry);

test('the journal appends one JSON line per event, after what the file already held, and creates its directory', async () => {
  const dir = await tempDir('clover-journal-');
  try {
    const file = path.join(dir.path, 'deep', 'exec.jsonl');
    const first = new ExecJournal(file, () => assert.fail('no error expected'));
    first.record({ event: 'start', at: 1, agentId: 'a', execId: 'j@1', jobId: 'j', attempt: 1, scheduledAt: 1 });
    first.close();
    // A restarted agent's journal goes on after its earlier life's lines.
    const second = new ExecJournal(file, () => assert.fail('no error expected'));
    second.record({ event: 'end', at: 2, agentId: 'a', execId: 'j@1', status: 'succeeded' });
    second.close();
    second.record({ event: 'end', at: 3, agentId: 'a', execId: 'j@2', status: 'succeeded' });
    assert.deepEqual(
      (await lines(file)).map((e) => [e.event, e.execId]),
      [
        ['start', 'j@1'],
        ['end', 'j@1'],
      ],
      'a closed journal writes nothing',
    );
  } finally {
    await dir.cleanup();
  }
});

test('a journal that cannot be opened throws; one whose writes fail reports once and stops', async () => {
  const dir = await tempDir('clover-journal-');
  try {
    const readOnly = path.join(dir.path, 'ro.jsonl');
    await writeFile(readOnly, '');
    await chmod(readOnly, 0o444);
    // Root ignores file modes: the case is only real for another user.
    if (process.getuid?.() !== 0) assert.throws(() => new ExecJournal(readOnly, () => undefined), /EACCES/);
    assert.throws(() => new ExecJournal(path.join(readOnly, 'under-a-file.jsonl'), () => undefined), /ENOTDIR|EEXIST/);
    const errors: unknown[] = [];
    const full = new ExecJournal('/dev/full', (err) => errors.push(err));
    full.record({ event: 'end', at: 1, agentId: 'a', execId: 'x', status: 'failed' });
    full.record({ event: 'end', at: 2, agentId: 'a', execId: 'y', status: 'failed' });
    assert.equal(errors.length, 1, 'reported once');
    assert.match(String(errors[0]), /ENOSPC/);
  } finally {
    await dir.cleanup();
  }
});
