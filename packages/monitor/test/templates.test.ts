import { test } from 'node:test';
import assert from 'node:assert/strict';
import { incidentSchema } from '@clover/model';
import { openingMail, recoveryMail } from '../src/index.js';

const failed = incidentSchema.parse({
  id: 'inc_1',
  kind: 'job_failed',
  subject: 'job_0mx39abc',
  jobId: 'job_0mx39abc',
  runId: 'run_1',
  openedAt: '2026-11-30T10:00:00Z',
  closedAt: '2026-11-30T10:05:00Z',
  message: 'job "nightly report" failed on agent-1 after 1 attempt(s): boom',
});
const dead = incidentSchema.parse({
  id: 'inc_2',
  kind: 'node_dead',
  subject: 'agent-1',
  nodeKind: 'clients',
  openedAt: '2026-11-30T10:00:00Z',
  message: 'agent-1 stopped beating',
});
const context = { consoleUrl: 'http://console.example:8080/', jobNames: new Map([['job_0mx39abc', 'nightly report']]) };

test('a failed job is mailed by its name, with a link to its page', () => {
  const mail = openingMail(['ann@example.com'], [failed], context);
  assert.equal(mail.subject, '[clover] job "nightly report" failed');
  assert.match(mail.text, /open: http:\/\/console\.example:8080\/jobs\/job_0mx39abc\n/);
  assert.match(mail.html ?? '', /<a href="http:\/\/console\.example:8080\/jobs\/job_0mx39abc">Open the job/);
  assert.doesNotMatch(mail.subject, /job_0mx39abc/);
});

test('a digest names jobs by name and nodes by id; a node links to the incidents page', () => {
  const mail = openingMail(['ann@example.com'], [failed, dead], context);
  assert.equal(mail.subject, '[clover] 2 incidents: nightly report, agent-1');
  assert.match(mail.text, /open: http:\/\/console\.example:8080\/incidents\n/);
});

test('a recovery names the job; a job whose name is unknown (deleted) keeps its id', () => {
  assert.equal(recoveryMail(['ann@example.com'], [failed], context).subject, '[clover] recovered: nightly report');
  assert.equal(recoveryMail(['ann@example.com'], [failed]).subject, '[clover] recovered: job_0mx39abc');
  assert.doesNotMatch(openingMail(['ann@example.com'], [failed]).text, /open:/, 'no link without a console URL');
});

test("a mail in Chinese: subject, intro, facts and link text in the contact's language; names and ids as they are", () => {
  const mail = openingMail(['zh@example.com'], [failed], { ...context, language: 'zh' });
  assert.equal(mail.subject, '[clover] 任务“nightly report”失败');
  assert.match(mail.text, /^clover 新建了一个事件。/);
  assert.match(mail.text, /任务: nightly report \(job_0mx39abc\)/);
  assert.match(mail.text, /查看: http:\/\/console\.example:8080\/jobs\/job_0mx39abc\n/);
  assert.match(mail.html ?? '', /在 clover 控制台中查看该任务/);
  const node = openingMail(['zh@example.com'], [dead], { ...context, language: 'zh' });
  assert.equal(node.subject, '[clover] 执行器 agent-1 已失联');
  const back = recoveryMail(['zh@example.com'], [failed], { ...context, language: 'zh' });
  assert.equal(back.subject, '[clover] 已恢复: nightly report');
  assert.match(back.text, /任务“nightly report”已再次成功（此前失败持续 300\.0 s）。/);
});
