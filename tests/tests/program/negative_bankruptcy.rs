//! A short whose collateral fell below −|cost basis| (DESIGN.md §7, issue 13 item 7d): its equity
//! is negative at every price, so it has no bankruptcy price `≥ 0`. When the insurance vault
//! cannot cover it, the market's ADL book takes it over at a negative bankruptcy price, and ADL
//! closes the book there: the candidate gives its lots up and pays `|Pb|` a lot on top, so the
//! haircut is the deficit.

use perps::state::MarketParams;
use perps_client::{instructions as ix, OrderSide, OrderType};
use perps_testkit::*;

const P: u64 = 60 * USDC;

#[tokio::test]
async fn a_short_drained_below_its_sale_proceeds_is_liquidated_and_deleveraged_at_a_negative_price()
{
    let mut ctx = TestContext::with_exchange().await;
    // Minute funding capped at 10% a minute and a 50% band: the fastest the parameters allow.
    let params = MarketParams {
        funding_interval_secs: 60,
        max_funding_rate_ppm: 100_000,
        price_band_ppm: 500_000,
        ..default_params()
    };
    let m = ctx.create_market_with(params, btc(60_000)).await;
    let alice = ctx.funded_position(&m, 100 * USDC, 0).await;
    let bob = ctx.funded_position(&m, 20_000 * USDC, 0).await;
    let carol = ctx.funded_position(&m, 5_000 * USDC, 0).await;
    let mia = ctx.funded_position(&m, 2_000 * USDC, 0).await;
    // Alice (maker, 100.60 USDC with her rebate) short 100 lots at 60, Bob long them.
    ctx.cross(&m, &alice, &bob, OrderSide::Bid, P, 100).await;
    // Mia offers 700 lots at 30, half the oracle: 21,000 USDC, over the impact notional, so
    // the impact premium is −50% and every minute's rate is the −10% cap: shorts pay 6 USDC
    // a lot a minute.
    let ask = order(OrderSide::Ask, 30 * USDC, 700, OrderType::PostOnly);
    ctx.place(&m, &mia, ask).await.unwrap();
    // Nobody liquidates Alice while she pays 600 USDC a minute for 12 minutes (7,200 USDC).
    for _ in 0..12 {
        ctx.advance_clock(60).await;
        ctx.set_price(&m.oracle, btc(60_000), 0).await.unwrap();
        ctx.send(&[ix::crank_funding(&m.keys())], &[])
            .await
            .unwrap();
        assert_eq!(ctx.market(&m.market).await.last_funding_rate_ppm, -100_000);
    }
    let a = ctx.position(&m.market, &alice.pubkey()).await;
    let owed = a.pending_funding(ctx.market(&m.market).await.funding_index);
    assert_eq!(owed.unwrap().0 .0, 7_200 * USDC as i128);

    // At 61 her collateral is 100.60 − 7,200 = −7,099.40, under −|Q| = −6,000: equity −7,199.40
    // at the oracle, and negative at any price. The vault holds 1.20 USDC of fees and pays it;
    // the market's ADL book takes her over at (−6,000 + 7,098.20) / −100 = −10.982 a lot. (The
    // liquidation used to fail here computing the bankruptcy price, so she could never be
    // liquidated.)
    ctx.set_price(&m.oracle, btc(61_000), 0).await.unwrap();
    ctx.liquidate(&m, &carol, &alice).await.unwrap();
    let market = ctx.market(&m.market).await;
    let book = market.adl_book;
    assert_eq!(
        (book.base_lots, book.cost_basis, book.collateral),
        (-100, -6_000 * USDC as i64, -7_098_200_000)
    );
    assert_eq!(
        book.state().signed_bankruptcy_price().unwrap().0,
        -10_982_000
    );
    assert_eq!(market.adl_candidate_side, 0, "the longs are ranked");
    assert_eq!(ctx.token_balance(&m.insurance_vault).await, 0);
    let a = ctx.position(&m.market, &alice.pubkey()).await;
    assert_eq!((a.base_lots, a.cost_basis, a.collateral), (0, 0, 0));

    // Bob (long 100 from 60, 20,000 − 3 of taker fee + 7,200 of funding received) is profitable
    // at 61 and ranked first. He gives his lots up at −10.982: 7,098.20 of realized loss,
    // 7,198.20 of haircut against the oracle, exactly Alice's deficit less the vault's 1.20.
    let run = ctx.run_adl(&m).await;
    assert_eq!(
        (run.sweeps, run.rank_transactions, run.adl_transactions),
        (1, 1, 1)
    );
    let market = ctx.market(&m.market).await;
    assert!(!market.is_adl_pending());
    assert_eq!(
        (market.adl_book.collateral, market.adl_book.cost_basis),
        (0, 0)
    );
    let b = ctx.position(&m.market, &bob.pubkey()).await;
    assert_eq!(
        (b.base_lots, b.cost_basis, b.collateral),
        (0, 0, 20_098_800_000)
    );
    assert_eq!(
        (market.open_interest_long, market.open_interest_short),
        (0, 0)
    );
    ctx.assert_vault_matches_positions(&m).await;
}
