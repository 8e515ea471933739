//! Sizing and pricing orders as a trading client does: equity at a price, how many lots the
//! initial margin allows, and limit prices on the tick grid.

use perps::state::{Market, Position};
use perps_engine::{Price, SignedQuote};

use crate::OrderSide;

/// Equity of `position` at `price` with its funding settled, in quote atoms.
pub fn equity_at(market: &Market, position: &Position, price: Price) -> Option<i128> {
    let state = position.state_at(market.funding_index).ok()?;
    state.equity(price).ok().map(|e| e.0)
}

/// At most `lots` (the whole position after the order), cut until its initial margin takes no
/// more than 90% of the position's equity at `price` (initial margin scaled for volatility, as
/// the program requires it), as a trading client sizes an order.
pub fn affordable_lots(market: &Market, position: &Position, price: Price, mut lots: u64) -> u64 {
    let (Ok(tiers), Ok(factor)) = (
        market.params.margin_tiers(),
        market.initial_margin_factor(price),
    ) else {
        return 0;
    };
    let Some(equity) = equity_at(market, position, price) else {
        return 0;
    };
    while lots > 0 {
        let notional = SignedQuote(lots as i128 * price.0 as i128);
        match tiers.scaled_initial_margin(notional, factor) {
            Ok(margin) if margin.0 * 10 <= equity * 9 => break,
            _ => lots = lots * 9 / 10,
        }
    }
    lots
}

/// `price` moved by `offset_bps` (signed), on the tick grid, rounded to the less aggressive
/// price for `side`: down for a bid, up for an ask.
pub fn price_at(side: OrderSide, price: Price, offset_bps: i64, tick: u64) -> u64 {
    let scaled = price.0 as u128 * (10_000 + offset_bps) as u128;
    let unit = 10_000 * tick as u128;
    let ticks = match side {
        OrderSide::Bid => scaled / unit,
        OrderSide::Ask => scaled.div_ceil(unit),
    };
    ticks as u64 * tick
}

/// A taker's limit: `slippage_bps` past the oracle, toward the book.
pub fn taker_limit(side: OrderSide, price: Price, slippage_bps: u32, tick: u64) -> u64 {
    let slippage = slippage_bps as i64;
    match side {
        OrderSide::Bid => price_at(side, price, slippage, tick),
        OrderSide::Ask => price_at(side, price, -slippage, tick),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;
    use perps::state::MarginTierParams;

    const USDC: u64 = 1_000_000;
    /// One cent a lot, the default market's tick.
    const TICK: u64 = 10_000;

    /// A market with the default three tiers: 0.5% / 1% up to 10k USDC of notional, 1% / 2% up
    /// to 100k, 2.5% / 5% above; no volatility scaling.
    fn market() -> Market {
        let mut m = Market::zeroed();
        let tiers = [
            (10_000 * USDC, 5_000, 10_000),
            (100_000 * USDC, 10_000, 20_000),
            (u64::MAX, 25_000, 50_000),
        ];
        for (stored, (max_notional, maintenance, initial)) in
            m.params.margin_tiers.iter_mut().zip(tiers)
        {
            *stored = MarginTierParams {
                max_notional,
                maintenance_rate_ppm: maintenance,
                initial_rate_ppm: initial,
            };
        }
        m.params.margin_tier_count = 3;
        m
    }

    fn position(lots: i64, cost_basis: i64, collateral: i64) -> Position {
        let mut p = Position::zeroed();
        p.base_lots = lots;
        p.cost_basis = cost_basis;
        p.collateral = collateral;
        p
    }

    #[test]
    fn equity_is_collateral_plus_unrealized_pnl_net_of_funding_owed() {
        // Long 10 lots bought for 1,000 atoms with 500 of collateral: at 90 a lot, 500 − 100.
        let mut m = market();
        let long = position(10, 1_000, 500);
        assert_eq!(equity_at(&m, &long, Price(90)), Some(400));
        assert_eq!(equity_at(&m, &long, Price(130)), Some(800));
        // The funding index moved 2.5 atoms a lot: the long owes 25.
        m.funding_index = 2_500_000;
        assert_eq!(equity_at(&m, &long, Price(90)), Some(375));
        // One millionth of an atom more a lot: what it owes rounds up, to 26.
        m.funding_index = 2_500_001;
        assert_eq!(equity_at(&m, &long, Price(90)), Some(374));
        // The short on the other side is owed the 25: 500 + 100 + 25.
        let short = position(-10, -1_000, 500);
        m.funding_index = 2_500_000;
        assert_eq!(equity_at(&m, &short, Price(90)), Some(625));
    }

    #[test]
    fn an_order_is_cut_by_tenths_until_initial_margin_takes_at_most_90_percent_of_equity() {
        let m = market();
        // 1,000 USDC of collateral, flat, BTC at 60,000: 60 USDC a lot of 0.001 BTC.
        let flat = position(0, 0, (1_000 * USDC) as i64);
        let price = Price(60 * USDC);
        // 100 lots: 6,000 USDC of notional, 1% initial = 60 USDC, within 900: unchanged.
        assert_eq!(affordable_lots(&m, &flat, price, 100), 100);
        // 1,000 lots: 60,000 USDC at 2% = 1,200 > 900; 900 lots 1,080; 810 lots 972; 729 lots
        // (43,740 USDC) 874.80 ≤ 900.
        assert_eq!(affordable_lots(&m, &flat, price, 1_000), 729);
        // 750 lots: 45,000 USDC at 2% = 900, exactly 90% of equity: unchanged.
        assert_eq!(affordable_lots(&m, &flat, price, 750), 750);
        // 751 lots need 901.20: cut to 675.
        assert_eq!(affordable_lots(&m, &flat, price, 751), 675);
        // No equity, no order.
        let empty = position(0, 0, 0);
        assert_eq!(affordable_lots(&m, &empty, price, 100), 0);
        // A long whose loss ate its collateral: equity 100 − 150 < 0.
        let under_water = position(10, (65 * USDC * 10) as i64, (100 * USDC) as i64);
        assert_eq!(affordable_lots(&m, &under_water, Price(50 * USDC), 10), 0);
    }

    #[test]
    fn a_market_without_valid_tiers_sizes_nothing() {
        let mut m = market();
        m.params.margin_tier_count = 0;
        let flat = position(0, 0, (1_000 * USDC) as i64);
        assert_eq!(affordable_lots(&m, &flat, Price(60 * USDC), 10), 0);
    }

    #[test]
    fn prices_round_to_the_tick_away_from_the_book() {
        // 60,123.457 USDC a BTC = 60,123,457 atoms a lot.
        let p = Price(60_123_457);
        // 7 bps under: 60,081,370.58; a bid rounds down to the cent.
        assert_eq!(price_at(OrderSide::Bid, p, -7, TICK), 60_080_000);
        // 7 bps over: 60,165,543.42; an ask rounds up.
        assert_eq!(price_at(OrderSide::Ask, p, 7, TICK), 60_170_000);
        // No offset: the two ticks around the price.
        assert_eq!(price_at(OrderSide::Bid, p, 0, TICK), 60_120_000);
        assert_eq!(price_at(OrderSide::Ask, p, 0, TICK), 60_130_000);
        // On the grid already: unchanged either way (60,000 ± 5 bps = 59,970 / 60,030).
        assert_eq!(
            price_at(OrderSide::Bid, Price(60 * USDC), -5, TICK),
            59_970_000
        );
        assert_eq!(
            price_at(OrderSide::Ask, Price(60 * USDC), 5, TICK),
            60_030_000
        );
    }

    #[test]
    fn a_taker_limit_is_the_slippage_past_the_oracle_toward_the_book() {
        let p = Price(60_123_457);
        // A buyer pays up to 50 bps over: 60,424,074.29, down to the tick.
        assert_eq!(taker_limit(OrderSide::Bid, p, 50, TICK), 60_420_000);
        // A seller takes down to 50 bps under: 59,822,839.71, up to the tick.
        assert_eq!(taker_limit(OrderSide::Ask, p, 50, TICK), 59_830_000);
        // No slippage: the oracle's own tick, rounded against the taker.
        assert_eq!(taker_limit(OrderSide::Bid, p, 0, TICK), 60_120_000);
        assert_eq!(taker_limit(OrderSide::Ask, p, 0, TICK), 60_130_000);
    }
}
