import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as perps from '../src';
import { fromHex, golden, toHex } from './golden';

const g = golden('events');

test('an Events batch decodes in order and re-encodes byte for byte', () => {
  assert.equal(toHex(perps.EVENT_IX_TAG), g.event_ix_tag);
  assert.equal(toHex(perps.EVENTS_DISCRIMINATOR), g.events_discriminator);
  const data = fromHex(g.hex);
  const events = perps.decodeEvents(data);
  assert.ok(events);
  assert.deepEqual(
    events.map((e) => e.__kind),
    g.names,
  );
  const fill = events[1];
  assert.ok(perps.isPerpsEvent('Fill', fill));
  assert.equal(fill.fields[0].makerFee, -42n);
  assert.equal(fill.fields[0].header.sequence, 100n);
  const encoded = perps.getEventsEncoder().encode({ events });
  assert.equal(toHex(perps.EVENT_IX_TAG) + toHex(perps.EVENTS_DISCRIMINATOR) + toHex(encoded), g.hex);
});

test('other data, or a truncated batch, is not an event batch', () => {
  const data = fromHex(g.hex);
  assert.equal(perps.decodeEvents(data.subarray(8)), null);
  assert.equal(perps.decodeEvents(data.subarray(0, 20)), null);
  assert.equal(perps.decodeEvents(data.subarray(0, data.length - 1)), null);
});
