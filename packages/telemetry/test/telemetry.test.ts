import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorFields, noopLogger, noopMetrics, serializeErrors, type SerializedError } from '../src/index.js';

test('an error becomes an object with its stack, code and cause chain', () => {
  const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2181'), { code: 'ECONNREFUSED' });
  const err = new Error('could not open the ZooKeeper session', { cause: root });
  const f = errorFields(err) as SerializedError;
  assert.equal(f.name, 'Error');
  assert.equal(f.message, 'could not open the ZooKeeper session');
  assert.match(f.stack ?? '', /telemetry\.test\.ts/);
  const cause = f.cause as SerializedError;
  assert.equal(cause.code, 'ECONNREFUSED');
  assert.match(cause.stack ?? '', /ECONNREFUSED/);
  // Through JSON, as a log file line: nothing is lost (an Error itself stringifies to {}).
  assert.deepEqual(JSON.parse(JSON.stringify(f)), f);
});

test('a cause cycle stops, an AggregateError keeps its errors, a thrown string stays a string', () => {
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  a.cause = b;
  let depth = 0;
  for (let f: unknown = errorFields(a); typeof f === 'object' && f; f = (f as SerializedError).cause) depth++;
  assert.equal(depth, 6);
  const agg = errorFields(new AggregateError([new Error('x'), 'y'], 'both failed')) as SerializedError;
  assert.deepEqual(
    agg.errors?.map((e) => (typeof e === 'string' ? e : e.message)),
    ['x', 'y'],
  );
  assert.equal(errorFields('boom'), 'boom');
});

test('serializeErrors replaces only Error values, and returns the same object when there is none', () => {
  const plain = { jobId: 'j1', attempt: 2 };
  assert.equal(serializeErrors(plain), plain);
  const out = serializeErrors({ jobId: 'j1', err: new TypeError('bad') });
  assert.equal(out.jobId, 'j1');
  assert.equal((out.err as SerializedError).name, 'TypeError');
});

test('the no-op logger and metrics accept everything and keep nothing', () => {
  assert.equal(noopLogger.child({ a: 1 }), noopLogger);
  noopLogger.error('x', { err: new Error('y') });
  const c = noopMetrics.counter<'status'>({ name: 'clover_x_total', help: 'x', labelNames: ['status'] });
  c.inc({ status: 'ok' });
  noopMetrics.histogram({ name: 'clover_y_seconds', help: 'y' }).observe(1);
  noopMetrics.gauge({ name: 'clover_z', help: 'z' }).set(3);
});
