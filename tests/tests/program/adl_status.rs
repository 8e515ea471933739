//! ADL runs in Active and ReduceOnly markets only (DESIGN.md §8, issue 13 item 7a): while Paused
//! or once Settled it is refused by name and changes nothing, and a market in ADL cannot be
//! settled (its book would stay open for good).

use perps::error::PerpsError;
use perps::state::MarketStatus;
use perps_client::{instructions as ix, pda, OrderSide};
use perps_testkit::*;

use crate::adl::rank_sweep;

const P: u64 = 60 * USDC;

/// Alice long 100 lots from 60 on 100 USDC (100.60 with her maker rebate), Bob short them with
/// 1,000 USDC, Carol a liquidator. At 58 Alice's equity is −99.40 USDC; the insurance vault holds
/// only 1.20 USDC of fees: it pays that and the market's ADL book takes her position over. The
/// sweep is ranked: Bob is first.
async fn in_adl() -> (TestContext, MarketFixture, Wallet, Wallet) {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let alice = ctx.funded_position(&m, 100 * USDC, 0).await;
    let bob = ctx.funded_position(&m, 1_000 * USDC, 0).await;
    let carol = ctx.funded_position(&m, 5_000 * USDC, 0).await;
    ctx.cross(&m, &alice, &bob, OrderSide::Ask, P, 100).await;
    ctx.set_price(&m.oracle, btc(58_000), 0).await.unwrap();
    ctx.liquidate(&m, &carol, &alice).await.unwrap();
    let market = ctx.market(&m.market).await;
    assert_eq!(market.adl_book.base_lots, 100);
    assert_eq!(market.adl_book.collateral, 100_600_000 + 1_200_000);
    assert_eq!(rank_sweep(&mut ctx, &m).await, 1);
    let registry = ctx.registry(&m.registry).await;
    assert_eq!(
        registry.header.unfilled()[0].position,
        pda::position(&m.market, &bob.pubkey())
    );
    (ctx, m, alice, bob)
}

fn adl(m: &MarketFixture, candidate: &Wallet) -> solana_instruction::Instruction {
    ix::adl(&m.keys(), &[pda::position(&m.market, &candidate.pubkey())])
}

#[tokio::test]
async fn adl_is_refused_while_paused_a_market_in_adl_cannot_settle_and_adl_runs_in_reduce_only() {
    let (mut ctx, m, _alice, bob) = in_adl().await;
    ctx.set_status(&m, MarketStatus::Paused).await.unwrap();
    assert_perps_error(
        ctx.send(&[adl(&m, &bob)], &[]).await,
        PerpsError::MarketPaused,
    );
    assert_perps_error(
        ctx.set_status(&m, MarketStatus::Settled).await,
        PerpsError::AdlPending,
    );
    assert_eq!(ctx.status(&m.market).await, MarketStatus::Paused);
    // Nothing moved: the book still holds Alice's 100 lots, Bob is still short 100, the ranking
    // still has him next.
    let market = ctx.market(&m.market).await;
    assert_eq!(market.adl_book.base_lots, 100);
    assert_eq!(ctx.position(&m.market, &bob.pubkey()).await.base_lots, -100);
    assert_eq!(ctx.registry(&m.registry).await.header.fill_cursor, 0);
    ctx.assert_vault_matches_positions(&m).await;

    // A settled market (settled out of ADL) refuses `adl` by name.
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    ctx.set_status(&m, MarketStatus::Settled).await.unwrap();
    assert_perps_error(
        ctx.send(&[ix::adl(&m.keys(), &[])], &[]).await,
        PerpsError::MarketSettled,
    );

    // In a ReduceOnly market it runs: Bob buys the book's 100 lots back at its bankruptcy price.
    let (mut ctx, m, _alice, bob) = in_adl().await;
    ctx.set_status(&m, MarketStatus::ReduceOnly).await.unwrap();
    ctx.send(&[adl(&m, &bob)], &[]).await.unwrap();
    let market = ctx.market(&m.market).await;
    assert!(!market.is_adl_pending());
    assert_eq!(
        (market.adl_book.base_lots, market.adl_book.collateral),
        (0, 0)
    );
    assert_eq!(ctx.position(&m.market, &bob.pubkey()).await.base_lots, 0);
    ctx.assert_vault_matches_positions(&m).await;
}
