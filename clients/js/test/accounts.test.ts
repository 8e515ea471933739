// Every golden account (built by the Rust test from fixed values) decoded with the TypeScript
// client, checked field by field where the Rust side recorded a value, and re-encoded with the
// generated encoders byte for byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as perps from '../src';
import { fromHex, golden, toHex } from './golden';

const g = golden('accounts');

test('Exchange (Borsh) decodes and re-encodes', () => {
  const data = fromHex(g.exchange.hex);
  const exchange = perps.decodeExchangeData(data);
  assert.equal(exchange.admin, g.exchange.fields.admin);
  assert.equal(exchange.marketCount, g.exchange.fields.market_count);
  assert.equal(exchange.paused, g.exchange.fields.paused);
  assert.equal(data.length, perps.getExchangeSize());
  assert.equal(toHex(perps.getExchangeEncoder().encode(exchange)), g.exchange.hex);
});

test('PriceFeed (Borsh) decodes and re-encodes', () => {
  const data = fromHex(g.price_feed.hex);
  const feed = perps.decodePriceFeedData(data);
  assert.equal(feed.price, BigInt(g.price_feed.fields.price));
  assert.equal(feed.expo, g.price_feed.fields.expo);
  assert.equal(toHex(perps.getPriceFeedEncoder().encode(feed)), g.price_feed.hex);
});

test('Market (zero-copy, with the embedded ADL book) decodes and re-encodes', () => {
  const data = fromHex(g.market.hex);
  assert.equal(data.length, 1_072);
  const market = perps.decodeMarketData(data);
  assert.equal(market.index, g.market.fields.index);
  assert.equal(market.fundingIndex, BigInt(g.market.fields.funding_index));
  assert.equal(market.adlBook.baseLots, BigInt(g.market.fields.adl_book_base_lots));
  assert.equal(market.params.marginTierCount, g.market.fields.margin_tier_count);
  assert.equal(new TextDecoder().decode(Uint8Array.from(market.symbol)).replace(/\0+$/, ''), g.market.fields.symbol);
  assert.equal(toHex(perps.getMarketEncoder().encode(market)), g.market.hex);
});

test('Position (zero-copy) decodes and re-encodes', () => {
  const data = fromHex(g.position.hex);
  assert.equal(data.length, perps.getPositionSize());
  const position = perps.decodePositionData(data);
  assert.equal(position.owner, g.position.fields.owner);
  assert.equal(position.collateral, BigInt(g.position.fields.collateral));
  assert.equal(position.baseLots, BigInt(g.position.fields.base_lots));
  assert.equal(position.registrySlot, g.position.fields.registry_slot);
  assert.equal(toHex(perps.getPositionEncoder().encode(position)), g.position.hex);
});

test('OrderBook (zero-copy, 2 × 512 orders) decodes and re-encodes', () => {
  const data = fromHex(g.order_book.hex);
  assert.equal(data.length, perps.ORDER_BOOK_SPACE);
  assert.equal(data.length, perps.getOrderBookSize());
  const book = perps.decodeOrderBookData(data);
  assert.equal(book.book.nextOrderId, BigInt(g.order_book.fields.next_order_id));
  assert.equal(book.book.bids.len, BigInt(g.order_book.fields.bids_len));
  assert.equal(book.book.asks.len, BigInt(g.order_book.fields.asks_len));
  assert.equal(book.book.asks.orders.length, 512);
  assert.equal(toHex(perps.getOrderBookEncoder().encode(book)), g.order_book.hex);
});

test('PositionRegistry: the generated header and the hand-written slots decode and re-encode', () => {
  const data = fromHex(g.position_registry.hex);
  const registry = perps.decodeRegistry(data);
  assert.equal(registry.header.capacity, g.position_registry.fields.capacity);
  assert.equal(registry.header.rankedLen, g.position_registry.fields.ranked_len);
  assert.equal(registry.header.ranking.length, 128);
  assert.equal(data.length, perps.registryAccountSize(registry.header.capacity));
  assert.deepEqual(perps.registeredPositions(registry), g.position_registry.fields.positions);
  const header = perps.getPositionRegistryEncoder().encode(registry.header);
  const slots = registry.slots.map((slot) => perps.getRegistrySlotEncoder().encode(slot));
  assert.equal(header.length, perps.REGISTRY_HEADER_SIZE);
  assert.equal(toHex(header) + slots.map(toHex).join(''), g.position_registry.hex);
});

test('a wrong discriminator or short data is refused', () => {
  const position = fromHex(g.position.hex);
  assert.throws(() => perps.decodeMarketData(position), perps.DecodeError);
  assert.throws(() => perps.decodePositionData(position.subarray(0, 100)), perps.DecodeError);
});
