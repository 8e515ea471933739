// The ADL indicator (BitMEX-style lights) and the on-chain ranking of a market's current ADL
// sweep, mirroring perps_engine::adl::adl_indicator and crates/client/src/adl.rs
// on_chain_ranking. The full off-chain ranking of positions not yet in the on-chain ranking
// (`sweep_indicator` over every position of the market) is not mirrored.
import type { Address } from '@solana/kit';

import type { Registry } from './accounts';

/** 5 lights for the top 20% of the side's size, down to 1 for the last 20%: `throughLots` is
 * the size of every position ranked at or above this one (itself included). */
export function adlIndicator(throughLots: bigint, totalLots: bigint): number {
  if (totalLots === 0n) return 1;
  const scaled = throughLots * 5n;
  const quotient = scaled / totalLots + (scaled % totalLots !== 0n ? 1n : 0n);
  const quintile = quotient < 1n ? 1n : quotient > 5n ? 5n : quotient;
  return Number(6n - quintile);
}

export type AdlRankedPosition = {
  key: Address;
  side: 'Long' | 'Short';
  lots: bigint;
  /** The ADL score as a fraction (never negative in the on-chain ranking). */
  scoreNum: bigint;
  scoreDen: bigint;
  /** 1-based place in the ranking (1 is deleveraged first). */
  rank: number;
  indicator: number;
  /** Not yet filled by ADL (at or past the ranking's fill cursor). */
  eligible: boolean;
};

function u128le(bytes: ArrayLike<number>): bigint {
  let value = 0n;
  for (let i = 15; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

/** The on-chain ranking of the market's current sweep, each entry with its rank and indicator
 * (the lots ranked through it against every eligible lot the sweep found). */
export function onChainRanking(registry: Registry): AdlRankedPosition[] {
  const header = registry.header;
  if (header.candidateSide !== 0 && header.candidateSide !== 1) return [];
  const side = header.candidateSide === 0 ? 'Long' : 'Short';
  let through = 0n;
  return header.ranking.slice(0, header.rankedLen).map((entry, i) => {
    through += entry.lots;
    return {
      key: entry.position,
      side,
      lots: entry.lots,
      scoreNum: u128le(entry.scoreNum),
      scoreDen: u128le(entry.scoreDen),
      rank: i + 1,
      indicator: adlIndicator(through, header.eligibleLots),
      eligible: i >= header.fillCursor,
    };
  });
}

/** A position's ADL indicator if it is in the on-chain ranking of the current sweep. */
export function rankingIndicator(registry: Registry, position: Address): number | null {
  return onChainRanking(registry).find((r) => r.key === position)?.indicator ?? null;
}
