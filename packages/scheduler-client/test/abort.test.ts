import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecAbort } from '../src/abort.js';

test('the abort switch: its signal made on demand, aborted with the reason whenever it is asked for', () => {
  const early = new ExecAbort();
  const signal = early.signal;
  assert.equal(early.signal, signal, 'one signal per switch');
  let heard = 0;
  early.onAbort(() => heard++);
  early.abort('timeout');
  early.abort('again');
  assert.deepEqual([signal.aborted, signal.reason, early.aborted, early.reason, heard], [true, 'timeout', true, 'timeout', 1]);

  const late = new ExecAbort();
  late.abort('replaced');
  assert.deepEqual([late.signal.aborted, late.signal.reason], [true, 'replaced'], 'a signal asked for after the abort is already aborted');
  late.onAbort(() => heard++);
  assert.equal(heard, 2, 'a listener added after the abort is called at once');

  const untouched = new ExecAbort();
  assert.equal(untouched.aborted, false);
  assert.equal(untouched.signal.aborted, false);
});
