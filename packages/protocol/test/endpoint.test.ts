import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLocalEndpoint } from '../src/index.js';

test('isLocalEndpoint: loopback, ipc and inproc stay on this machine; everything else needs CURVE', () => {
  for (const local of [
    'tcp://127.0.0.1:7710',
    'tcp://127.9.9.9:1',
    'tcp://localhost:7710',
    'tcp://[::1]:7710',
    'ipc:///tmp/x',
    'inproc://a',
  ]) {
    assert.equal(isLocalEndpoint(local), true, local);
  }
  for (const remote of [
    'tcp://0.0.0.0:7710',
    'tcp://*:7710',
    'tcp://10.0.0.5:7710',
    'tcp://dispatch.internal:7710',
    'tcp://[::]:7710',
    'tcp://127.0.0.1',
    'nonsense',
  ]) {
    assert.equal(isLocalEndpoint(remote), false, remote);
  }
});
