// Decoding (and encoding) of the program's accounts. The generated codecs read every account
// correctly, zero-copy ones included (their repr(C) layouts carry explicit padding fields, so
// bytemuck's layout and the IDL's Borsh-like field order agree; the golden tests check every
// byte). Hand-written here: the position registry's slots after its header, which the IDL cannot
// describe (their number is the account's size), and discriminator checks with clear errors.
import {
  fixDecoderSize,
  fixEncoderSize,
  getAddressDecoder,
  getAddressEncoder,
  getStructDecoder,
  getStructEncoder,
  getU32Decoder,
  getU32Encoder,
  type Address,
  type ReadonlyUint8Array,
} from '@solana/kit';

import {
  EXCHANGE_DISCRIMINATOR,
  getExchangeDecoder,
  getMarketDecoder,
  getOrderBookDecoder,
  getPositionDecoder,
  getPositionRegistryDecoder,
  getPriceFeedDecoder,
  MARKET_DISCRIMINATOR,
  ORDER_BOOK_DISCRIMINATOR,
  POSITION_DISCRIMINATOR,
  POSITION_REGISTRY_DISCRIMINATOR,
  PRICE_FEED_DISCRIMINATOR,
  type Exchange,
  type Market,
  type OrderBook,
  type Position,
  type PositionRegistry,
  type PriceFeed,
} from './generated';
import { REGISTRY_HEADER_SIZE, REGISTRY_SLOT_SIZE } from './instructions';

export class DecodeError extends Error {}

function check(data: ReadonlyUint8Array, discriminator: ReadonlyUint8Array, size: number, name: string) {
  if (data.length < size) throw new DecodeError(`${name}: account data too short (${data.length} < ${size})`);
  for (let i = 0; i < discriminator.length; i++) {
    if (data[i] !== discriminator[i]) throw new DecodeError(`${name}: wrong account discriminator`);
  }
}

export function decodeExchangeData(data: ReadonlyUint8Array): Exchange {
  check(data, EXCHANGE_DISCRIMINATOR, 8, 'Exchange');
  return getExchangeDecoder().decode(data);
}

export function decodePriceFeedData(data: ReadonlyUint8Array): PriceFeed {
  check(data, PRICE_FEED_DISCRIMINATOR, 8, 'PriceFeed');
  return getPriceFeedDecoder().decode(data);
}

export function decodeMarketData(data: ReadonlyUint8Array): Market {
  check(data, MARKET_DISCRIMINATOR, 1_072, 'Market');
  return getMarketDecoder().decode(data);
}

export function decodePositionData(data: ReadonlyUint8Array): Position {
  check(data, POSITION_DISCRIMINATOR, 200, 'Position');
  return getPositionDecoder().decode(data);
}

export function decodeOrderBookData(data: ReadonlyUint8Array): OrderBook {
  check(data, ORDER_BOOK_DISCRIMINATOR, 73_864, 'OrderBook');
  return getOrderBookDecoder().decode(data);
}

/** One place of the registry: the position there (the default address when free), the next
 * free slot while free, and the last sweep that ranked it. */
export type RegistrySlot = { position: Address; nextFree: number; rankedInSweep: number };

export function getRegistrySlotDecoder() {
  return fixDecoderSize(
    getStructDecoder([
      ['position', getAddressDecoder()],
      ['nextFree', getU32Decoder()],
      ['rankedInSweep', getU32Decoder()],
    ]),
    REGISTRY_SLOT_SIZE,
  );
}

export function getRegistrySlotEncoder() {
  return fixEncoderSize(
    getStructEncoder([
      ['position', getAddressEncoder()],
      ['nextFree', getU32Encoder()],
      ['rankedInSweep', getU32Encoder()],
    ]),
    REGISTRY_SLOT_SIZE,
  );
}

export const DEFAULT_ADDRESS = '11111111111111111111111111111111' as Address;

/** A market's position registry: its header (generated codec) and its `capacity` slots. */
export type Registry = { header: PositionRegistry; slots: RegistrySlot[] };

export function decodeRegistry(data: ReadonlyUint8Array): Registry {
  check(data, POSITION_REGISTRY_DISCRIMINATOR, REGISTRY_HEADER_SIZE, 'PositionRegistry');
  const header = getPositionRegistryDecoder().decode(data);
  const end = REGISTRY_HEADER_SIZE + header.capacity * REGISTRY_SLOT_SIZE;
  if (data.length < end) throw new DecodeError('PositionRegistry: account data too short for its capacity');
  const decoder = getRegistrySlotDecoder();
  const slots: RegistrySlot[] = [];
  for (let offset = REGISTRY_HEADER_SIZE; offset < end; offset += REGISTRY_SLOT_SIZE) {
    slots.push(decoder.decode(data, offset));
  }
  return { header, slots };
}

/** The registered positions with their slots, in slot order. */
export function registeredPositions(registry: Registry): Array<[number, Address]> {
  return registry.slots
    .slice(0, registry.header.highWater)
    .map((slot, i) => [i, slot.position] as [number, Address])
    .filter(([, position]) => position !== DEFAULT_ADDRESS);
}
