// The hand-written helpers against the Rust client's results on the same accounts: the makers a
// place_order needs (book.rs), order sizing and tick prices (sizing.rs), liquidation and
// bankruptcy prices (the engine's PositionState), the ADL indicator and on-chain ranking (adl.rs).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as perps from '../src';
import { addr, fromHex, golden } from './golden';

const g = golden('helpers');
const market = perps.decodeMarketData(fromHex(g.market));
const positions = Object.fromEntries(
  Object.entries(g.positions as Record<string, string>).map(([name, hex]) => [
    name,
    perps.decodePositionData(fromHex(hex)),
  ]),
);
const side = (name: string) => perps.OrderSide[name as keyof typeof perps.OrderSide];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function checkOrderAccounts(book: perps.OrderBook, cases: any[]) {
  for (const c of cases) {
    const args: perps.PlaceOrderArgs = {
      side: side(c.side),
      price: BigInt(c.price),
      lots: BigInt(c.lots),
      orderType: perps.OrderType[c.order_type as keyof typeof perps.OrderType],
      reduceOnly: false,
      clientOrderId: 0n,
    };
    assert.deepEqual(perps.orderAccounts(book, addr(c.taker), args), c.accounts, JSON.stringify(c));
  }
}

test('order accounts: the makers in reach, skipping the taker, in book order', () => {
  checkOrderAccounts(perps.decodeOrderBookData(fromHex(g.book)), g.order_accounts);
});

test('order accounts on a full side: the evicted order\'s maker comes last', () => {
  checkOrderAccounts(perps.decodeOrderBookData(fromHex(g.full_book)), g.full_book_order_accounts);
});

test('equity and affordable lots (initial margin by tier, volatility-scaled, 90% of equity)', () => {
  assert.ok(g.sizing.length > 50);
  for (const c of g.sizing) {
    const position = positions[c.position];
    const price = BigInt(c.price);
    assert.equal(perps.equityAt(market, position, price)?.toString() ?? null, c.equity, JSON.stringify(c));
    assert.equal(
      perps.affordableLots(market, position, price, BigInt(c.lots)).toString(),
      c.affordable_lots,
      JSON.stringify(c),
    );
  }
});

test('liquidation and bankruptcy prices', () => {
  const tiers = perps.marginTiers(market);
  assert.ok(tiers);
  for (const c of g.liquidation) {
    const state = perps.positionState(market, positions[c.position]);
    assert.ok(state);
    const liquidation: bigint | null = state.size === 0n ? null : perps.liquidationPrice(state, tiers);
    assert.equal(liquidation?.toString() ?? null, c.liquidation_price, c.position);
    assert.equal(
      perps.positionLiquidationPrice(market, positions[c.position])?.toString() ?? null,
      c.liquidation_price,
    );
    assert.equal(perps.bankruptcyPrice(state)?.toString() ?? null, c.bankruptcy_price, c.position);
  }
});

test('prices on the tick grid and taker limits', () => {
  for (const c of g.prices) {
    const [s, price, bps, tick] = [side(c.side), BigInt(c.price), BigInt(c.offset_bps), BigInt(c.tick)];
    assert.equal(perps.priceAt(s, price, bps, tick).toString(), c.price_at, JSON.stringify(c));
    if (c.taker_limit !== null) {
      assert.equal(perps.takerLimit(s, price, bps, tick).toString(), c.taker_limit, JSON.stringify(c));
    }
  }
});

test('ADL indicator and the on-chain ranking', () => {
  for (const [through, total, indicator] of g.adl_indicator) {
    assert.equal(perps.adlIndicator(BigInt(through), BigInt(total)), indicator, `${through}/${total}`);
  }
  const registry = perps.decodeRegistry(fromHex(g.registry));
  const ranking = perps.onChainRanking(registry);
  assert.deepEqual(
    ranking.map((r) => ({
      key: r.key,
      lots: r.lots.toString(),
      rank: r.rank,
      indicator: r.indicator,
      eligible: r.eligible,
    })),
    g.on_chain_ranking,
  );
  assert.equal(perps.rankingIndicator(registry, ranking[1].key), ranking[1].indicator);
});
