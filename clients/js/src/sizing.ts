// Margin, sizing and prices as the engine computes them, in bigint with the engine's roundings
// (crates/engine: margin.rs, volatility.rs, funding.rs, position.rs; crates/client/src/sizing.rs).
// Every rounding goes against the position: requirements and funding owed round up, a long's
// bankruptcy price up and a short's down. The engine works in checked i128 and refuses what
// overflows; these helpers use exact bigints and agree with it wherever it does not overflow.
import { OrderSide, type Market, type Position } from './generated';

export const PPM = 1_000_000n;
export const FUNDING_INDEX_SCALE = 1_000_000n;
export const MAX_MARGIN_TIERS = 6;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/** `n / d` rounded toward +∞ (bigint division truncates toward zero). */
export function divCeil(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n % d;
  return r !== 0n && r < 0n === d < 0n ? q + 1n : q;
}

/** `n / d` rounded toward −∞. */
export function divFloor(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n % d;
  return r !== 0n && r < 0n !== d < 0n ? q - 1n : q;
}

const abs = (x: bigint) => (x < 0n ? -x : x);
const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

export type MarginTier = { maxNotional: bigint; maintenanceRatePpm: bigint; initialRatePpm: bigint };

/** The market's margin tiers, validated as the engine validates them (`MarginTiers::new`):
 * 1 to 6 tiers, bounds strictly ascending, `0 < mm < im ≤ 100%`, rates non-decreasing. `null`
 * when invalid (the program then refuses every margin check). */
export function marginTiers(market: Market): MarginTier[] | null {
  const count = market.params.marginTierCount;
  if (count < 1 || count > MAX_MARGIN_TIERS) return null;
  const tiers = market.params.marginTiers.slice(0, count).map((t) => ({
    maxNotional: t.maxNotional,
    maintenanceRatePpm: BigInt(t.maintenanceRatePpm),
    initialRatePpm: BigInt(t.initialRatePpm),
  }));
  for (let i = 0; i < tiers.length; i++) {
    const { maintenanceRatePpm: mm, initialRatePpm: im } = tiers[i];
    if (mm === 0n || mm >= im || im > PPM) return null;
    if (i > 0) {
      const prev = tiers[i - 1];
      if (
        tiers[i].maxNotional <= prev.maxNotional ||
        mm < prev.maintenanceRatePpm ||
        im < prev.initialRatePpm
      )
        return null;
    }
  }
  return tiers;
}

/** The tier a (non-negative) notional falls in: the first whose bound it does not exceed. */
export function tierFor(tiers: MarginTier[], notional: bigint): MarginTier {
  return tiers.find((t) => notional <= t.maxNotional) ?? tiers[tiers.length - 1];
}

/** `notional · rate`, rounded up. */
export function mulRateCeil(notional: bigint, ratePpm: bigint): bigint {
  return divCeil(notional * ratePpm, PPM);
}

/** Maintenance margin: `N · mmr(N)`, rounded up. */
export function maintenanceMargin(tiers: MarginTier[], notional: bigint): bigint {
  return mulRateCeil(notional, tierFor(tiers, notional).maintenanceRatePpm);
}

/** Initial margin: `N · imr(N)`, rounded up. */
export function initialMargin(tiers: MarginTier[], notional: bigint): bigint {
  return mulRateCeil(notional, tierFor(tiers, notional).initialRatePpm);
}

/** Initial margin with its rate scaled by `factorPpm` (rounded up, at most 100%). */
export function scaledInitialMargin(tiers: MarginTier[], notional: bigint, factorPpm: bigint): bigint {
  const rate = min(divCeil(tierFor(tiers, notional).initialRatePpm * factorPpm, PPM), PPM);
  return mulRateCeil(notional, rate);
}

/** `|a − b| / b` in ppm, rounded up. */
export function relativeGap(a: bigint, b: bigint): bigint {
  return divCeil(abs(a - b) * PPM, b);
}

/** The factor initial margin rates are multiplied by at `price` (ppm; `PPM` is 1×):
 * `1 + sensitivity · |P − EMA| / EMA`, capped at the market's maximum (`Market::initial_margin_factor`). */
export function initialMarginFactor(market: Market, price: bigint): bigint {
  const sensitivity = BigInt(market.params.volatilitySensitivityPpm);
  if (sensitivity === 0n || market.oracleEma === 0n) return PPM;
  const extra = divCeil(relativeGap(price, market.oracleEma) * sensitivity, PPM);
  return min(PPM + extra, max(BigInt(market.params.maxVolatilityFactorPpm), PPM));
}

/** A position's risk figures with its funding settled to the market's index (`state_at`). */
export type PositionState = {
  collateral: bigint;
  size: bigint;
  costBasis: bigint;
  openBids: bigint;
  openAsks: bigint;
};

/** Funding a position of `size` lots owes after the index moved by `indexDelta` (positive
 * pays), rounded up: a payer pays the fraction and a receiver forgoes it. */
export function fundingOwed(size: bigint, indexDelta: bigint): bigint {
  return divCeil(size * indexDelta, FUNDING_INDEX_SCALE);
}

/** The position as the program judges it, with funding settled up to the market's index;
 * `null` if the index difference overflows i64 (the program refuses it). */
export function positionState(market: Market, position: Position): PositionState | null {
  const delta = market.fundingIndex - position.fundingIndexSnapshot;
  if (delta < I64_MIN || delta > I64_MAX) return null;
  return {
    collateral: position.collateral - fundingOwed(position.baseLots, delta),
    size: position.baseLots,
    costBasis: position.costBasis,
    openBids: position.openBidLots,
    openAsks: position.openAskLots,
  };
}

/** `E = C + q·P − Q`. */
export function equity(state: PositionState, price: bigint): bigint {
  return state.collateral + state.size * price - state.costBasis;
}

/** Equity of `position` at `price` with its funding settled, in quote atoms. */
export function equityAt(market: Market, position: Position, price: bigint): bigint | null {
  const state = positionState(market, position);
  return state === null ? null : equity(state, price);
}

/** At most `lots` (the whole position after the order), cut by tenths until its initial margin
 * (scaled for volatility, as the program requires it) takes no more than 90% of the position's
 * equity at `price`: `sizing::affordable_lots`. */
export function affordableLots(market: Market, position: Position, price: bigint, lots: bigint): bigint {
  const tiers = marginTiers(market);
  const factor = initialMarginFactor(market, price);
  const eq = equityAt(market, position, price);
  if (tiers === null || eq === null) return 0n;
  while (lots > 0n) {
    const margin = scaledInitialMargin(tiers, lots * price, factor);
    if (margin * 10n <= eq * 9n) break;
    lots = (lots * 9n) / 10n;
  }
  return lots;
}

/** `price` moved by `offsetBps` (signed), on the tick grid, rounded to the less aggressive
 * price for `side`: down for a bid, up for an ask. */
export function priceAt(side: OrderSide, price: bigint, offsetBps: bigint, tick: bigint): bigint {
  const scaled = price * (10_000n + offsetBps);
  const unit = 10_000n * tick;
  const ticks = side === OrderSide.Bid ? scaled / unit : divCeil(scaled, unit);
  return ticks * tick;
}

/** A taker's limit: `slippageBps` past the oracle, toward the book. */
export function takerLimit(side: OrderSide, price: bigint, slippageBps: bigint, tick: bigint): bigint {
  return priceAt(side, price, side === OrderSide.Bid ? slippageBps : -slippageBps, tick);
}

/** The price at which equity is zero, rounded against the position (up for a long, down for a
 * short); 0 for a long that cannot go bankrupt; `null` when flat or for a short whose equity is
 * negative at every price. */
export function bankruptcyPrice(state: PositionState): bigint | null {
  if (state.size === 0n) return null;
  const numerator = state.costBasis - state.collateral;
  const price = state.size > 0n ? max(divCeil(numerator, state.size), 0n) : divFloor(numerator, state.size);
  return price < 0n ? null : price;
}

/** The liquidation price (`PositionState::liquidation_price`): for a long the highest price at
 * which it is liquidatable (every higher price is safe), for a short the lowest; `null` when
 * flat or when no such price exists. Worked per tier in closed form as the engine does. */
export function liquidationPrice(state: PositionState, tiers: MarginTier[]): bigint | null {
  if (state.size === 0n) return null;
  const long = state.size > 0n;
  const lots = abs(state.size);
  let edge: bigint | null = null;
  for (let i = 0; i < tiers.length; i++) {
    const low = i === 0 ? 0n : tiers[i - 1].maxNotional / lots + 1n;
    const high = i + 1 === tiers.length ? (1n << 64n) - 1n : tiers[i].maxNotional / lots;
    if (low > high) continue;
    const m = tiers[i].maintenanceRatePpm;
    if (long) {
      const numerator = PPM * (state.costBasis - state.collateral);
      if (numerator <= 0n) continue;
      const below = divCeil(numerator, lots * (PPM - m)) - 1n;
      const top = min(below, high);
      if (top >= low) edge = edge === null ? top : max(edge, top);
    } else {
      const numerator = PPM * (state.collateral - state.costBasis);
      const above = divFloor(numerator, lots * (PPM + m)) + 1n;
      const bottom = max(above, low);
      if (bottom <= high) edge = edge === null ? bottom : min(edge, bottom);
    }
  }
  if (edge !== null && (edge < 0n || edge >= 1n << 64n)) return null;
  return edge;
}

/** A position's liquidation price from its accounts (funding settled to the market's index). */
export function positionLiquidationPrice(market: Market, position: Position): bigint | null {
  const tiers = marginTiers(market);
  const state = positionState(market, position);
  return tiers === null || state === null ? null : liquidationPrice(state, tiers);
}
