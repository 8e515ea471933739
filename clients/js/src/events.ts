// The program's events as a transaction carries them: the data of an inner instruction of the
// program to itself (Anchor's event-cpi): Anchor's event tag, the `Events` discriminator, then
// one Borsh `Events { events: Vec<PerpsEvent> }`. Read only successful transactions' inner
// instructions whose program is this one: anyone can put these bytes in a failing transaction.
import type { ReadonlyUint8Array } from '@solana/kit';

import { getEventsDecoder, type PerpsEvent } from './generated';

/** Anchor's EVENT_IX_TAG (0x1d9acb512ea545e4), little-endian. */
export const EVENT_IX_TAG = new Uint8Array([0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d]);
/** sha256("event:Events")[..8], the IDL's discriminator of the `Events` batch. */
export const EVENTS_DISCRIMINATOR = new Uint8Array([0xed, 0xbe, 0x5e, 0xa9, 0x8f, 0x98, 0xea, 0x49]);

function startsWith(data: ReadonlyUint8Array, prefix: Uint8Array, at: number): boolean {
  return prefix.every((byte, i) => data[at + i] === byte);
}

/** The events an inner instruction's `data` carries, or `null` if it is not an Events batch. */
export function decodeEvents(data: ReadonlyUint8Array): PerpsEvent[] | null {
  if (data.length < 20 || !startsWith(data, EVENT_IX_TAG, 0) || !startsWith(data, EVENTS_DISCRIMINATOR, 8)) {
    return null;
  }
  try {
    const [events, end] = getEventsDecoder().read(data, 16);
    return end === data.length ? events.events : null;
  } catch {
    return null;
  }
}
