import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { truncateOutput } from '@clover/model';
import { LIMITS, ProtocolError, decodeAll, truncateField } from '../src/index.js';

// The wire vectors every implementation of the protocol passes (testdata/wire-vectors/README.md):
// the reference codec must decode each frame list to the value it names, or reject it as it says.
const vectorDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../testdata/wire-vectors');

/** A frame: base64, or `{ concat: [[base64, times], …] }` for one too long to spell out. */
type Frame = string | { concat: Array<[string, number]> };
interface Expect {
  rejected?: string;
  messages?: Array<{ type: string; body: unknown }>;
  dropped?: Array<{ code: string; messageType?: string; execId?: string; reportedError?: string }>;
}
interface Vector {
  name: string;
  rule: string;
  frames: Frame[];
  expect: Expect;
}

function frameBytes(frame: Frame): Buffer {
  if (typeof frame === 'string') return Buffer.from(frame, 'base64');
  return Buffer.concat(frame.concat.flatMap(([part, times]) => Array<Buffer>(times).fill(Buffer.from(part, 'base64'))));
}

const readJson = (file: string): unknown => JSON.parse(readFileSync(path.join(vectorDir, file), 'utf8'));
const frameFiles = readdirSync(vectorDir).filter((f) => f.endsWith('.json') && f !== 'sending.json');

test('the wire vectors are there: every message type, and every kind of rejection', () => {
  const vectors = frameFiles.flatMap((f) => (readJson(f) as { vectors: Vector[] }).vectors);
  const types = new Set(
    vectors.flatMap((v) => [...(v.expect.messages ?? []).map((m) => m.type), ...(v.expect.dropped ?? []).map((d) => d.messageType)]),
  );
  for (const type of ['HELLO', 'EXEC', 'ACK', 'START', 'RESULT', 'CANCEL', 'PING', 'PONG', 'BYE']) assert.ok(types.has(type), type);
  const codes = new Set(vectors.flatMap((v) => [v.expect.rejected, ...(v.expect.dropped ?? []).map((d) => d.code)]));
  for (const code of ['frames', 'version', 'type', 'size', 'json', 'schema']) assert.ok(codes.has(code), code);
});

for (const file of frameFiles) {
  const { vectors } = readJson(file) as { vectors: Vector[] };
  for (const vector of vectors) {
    test(`${file}: ${vector.name}`, () => {
      const frames = vector.frames.map(frameBytes);
      const { expect } = vector;
      if (expect.rejected !== undefined) {
        assert.throws(
          () => decodeAll(frames),
          (err: unknown) => err instanceof ProtocolError && err.code === expect.rejected,
          `rejected whole as ${expect.rejected} (${vector.rule})`,
        );
        return;
      }
      const { messages, dropped } = decodeAll(frames);
      assert.deepEqual(messages, expect.messages, vector.rule);
      assert.deepEqual(
        dropped.map((d) => ({
          code: d.code,
          ...(d.messageType === undefined ? {} : { messageType: d.messageType }),
          ...(d.execId === undefined ? {} : { execId: d.execId }),
          ...(d.reportedError === undefined ? {} : { reportedError: d.reportedError }),
        })),
        expect.dropped,
        vector.rule,
      );
    });
  }
}

test('sending.json: truncateField and the output tail bound what a sender makes', () => {
  const sending = readJson('sending.json') as {
    truncateField: Array<{ name: string; text: string; maxChars: number; expect: string }>;
    outputTail: Array<{ name: string; text: string; maxBytes: number; expect: string }>;
  };
  for (const c of sending.truncateField) assert.equal(truncateField(c.text, c.maxChars), c.expect, c.name);
  for (const c of sending.outputTail) assert.equal(truncateOutput(c.text, c.maxBytes), c.expect, c.name);
  assert.equal(LIMITS.outputTailBytes, 8192);
});
