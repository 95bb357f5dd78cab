import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openStore, type Store } from '@clover/store';
import { noopLogger } from '@clover/telemetry';
import { tempDir } from '@clover/testkit';
import { createMailer } from '../src/mailer.js';
import { Notifier } from '../src/notify.js';

/**
 * A notifier on `store` mailing to its outbox, with no digest window or quiet period of its own,
 * on the test's clock `now` (wall and monotonic).
 */
const notifierOn = (store: Store, now: () => number) =>
  new Notifier({
    store,
    mailer: createMailer({ store, from: 'clover@test' }),
    logger: noopLogger,
    clock: now,
    monotonic: now,
    digestWindowMs: 0,
    quietPeriodMs: 0,
  });

test("the cluster settings' quiet period replaces the monitor's own, and leaving it out brings the own back", async () => {
  const dir = await tempDir();
  const store = await openStore({ file: path.join(dir.path, 'clover.db') });
  try {
    await store.contacts.create({ name: 'Ann', email: 'ann@example.com' });
    let now = Date.UTC(2026, 11, 1);
    const notifier = notifierOn(store, () => now);
    // Mails that say it died (a death also closes the one before, whose recovery mail is not counted).
    const deathMails = async () => (await store.outbox.list()).items.filter((m) => / is dead$/.test(m.subject)).length;
    const mailsAfter = async (step: () => Promise<void>) => {
      const before = await deathMails();
      await step();
      now += 1000;
      await notifier.tick();
      return (await deathMails()) - before;
    };
    const dies = () => async () => {
      const open = await store.incidents.findOpen('node_dead', 'agent-1');
      if (open) await store.incidents.close(open.id, new Date(now));
      await store.incidents.open({
        kind: 'node_dead',
        subject: 'agent-1',
        nodeKind: 'clients',
        openedAt: new Date(now),
        message: 'agent-1 is dead',
      });
    };
    assert.equal(await mailsAfter(dies()), 1, 'the first death is mailed');
    assert.equal(await mailsAfter(dies()), 1, "the monitor's own quiet period, 0: a second death a second later is mailed too");
    notifier.configure({ quietPeriodMs: 60_000, digestWindowMs: undefined });
    assert.equal(await mailsAfter(dies()), 0, "the cluster's quiet period of a minute holds the third back");
    notifier.configure({});
    assert.equal(await mailsAfter(dies()), 1, "left out of the cluster settings, the monitor's own applies again");
  } finally {
    await store.close();
    await dir.cleanup();
  }
});

test("mails go in each contact's language, else the cluster's, else English", async () => {
  const dir = await tempDir();
  const store = await openStore({ file: path.join(dir.path, 'clover.db') });
  try {
    await store.contacts.create({ name: 'Li', email: 'li@example.com', language: 'zh' });
    await store.contacts.create({ name: 'Ann', email: 'ann@example.com' });
    await store.contacts.create({ name: 'Bob', email: 'bob@example.com', language: 'en' });
    let now = Date.UTC(2026, 11, 1);
    const notifier = notifierOn(store, () => now);
    const subjects = async (subject: string) => {
      await store.incidents.open({
        kind: 'node_dead',
        subject,
        nodeKind: 'clients',
        openedAt: new Date(now),
        message: `${subject} is dead`,
      });
      now += 1000;
      await notifier.tick();
      const mails = (await store.outbox.list()).items.filter((m) => m.subject.includes(subject));
      return Object.fromEntries(mails.map((m) => [m.to.join(), m.subject]));
    };
    assert.deepEqual(await subjects('agent-1'), {
      'li@example.com': '[clover] 执行器 agent-1 已失联',
      'ann@example.com': '[clover] client agent-1 is dead',
      'bob@example.com': '[clover] client agent-1 is dead',
    });
    notifier.configure({ language: 'zh' });
    assert.deepEqual(await subjects('agent-2'), {
      'li@example.com': '[clover] 执行器 agent-2 已失联',
      'ann@example.com': '[clover] 执行器 agent-2 已失联',
      'bob@example.com': '[clover] client agent-2 is dead',
    });
  } finally {
    await store.close();
    await dir.cleanup();
  }
});
