// The cached offset transitions against Intl itself, at random instants 1970-2040.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { zoneOffsets } from '../src/zone.js';

const zones = [
  'America/New_York',
  'Europe/Berlin',
  'Australia/Lord_Howe',
  'America/Santiago',
  'America/Havana',
  'Asia/Beirut',
  'Pacific/Chatham',
  'Africa/Casablanca',
  'Asia/Kolkata',
  'Pacific/Apia',
  'Europe/Moscow',
  'UTC',
];
const formats = new Map<string, Intl.DateTimeFormat>();

/** Offset in ms from Intl's "GMT+hh:mm[:ss]" name. */
function intlOffset(tz: string, t: number): number {
  let f = formats.get(tz);
  if (!f) formats.set(tz, (f = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' })));
  const name = f.formatToParts(t).find((p) => p.type === 'timeZoneName')!.value;
  const m = /^GMT(?:([+-])(\d\d):(\d\d)(?::(\d\d))?)?$/.exec(name);
  assert.ok(m, name);
  if (!m[1]) return 0;
  return (m[1] === '-' ? -1 : 1) * ((Number(m[2]) * 60 + Number(m[3])) * 60 + Number(m[4] ?? 0)) * 1000;
}

test("a located span holds the instant, has Intl's offset, and ends at real changes", () => {
  fc.assert(
    fc.property(fc.constantFrom(...zones), fc.integer({ min: 0, max: Date.UTC(2040, 0, 1) / 1000 }), (tz, s) => {
      const t = s * 1000;
      const zone = zoneOffsets(tz);
      zone.locate(t);
      assert.ok(zone.segStart <= t && t < zone.segEnd);
      assert.equal(zone.offset, intlOffset(tz, t), `${tz} at ${new Date(t).toISOString()}`);
      if (tz === 'UTC') return;
      assert.equal(zone.prevOffset, intlOffset(tz, zone.segStart - 1000), 'offset before the span');
      assert.equal(zone.nextOffset, intlOffset(tz, zone.segEnd), 'offset after the span');
      // The offset holds throughout (checked at both ends).
      assert.equal(intlOffset(tz, zone.segStart), zone.offset);
      assert.equal(intlOffset(tz, zone.segEnd - 1000), zone.offset);
    }),
    { numRuns: 3000 },
  );
});
