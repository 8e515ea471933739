//! The loss waterfall as an attacker tries it (DESIGN.md §7, §12.4, §12.6): the insurance vault
//! pays only a real bankruptcy, a solvent position is never taken into the ADL book, what the
//! vault paid into the book comes back when the book closes solvent, the bankrupt owner cannot
//! draw on it, and a position cannot be sold into a sibling's bid down to where a third account
//! liquidates it.

use perps::error::PerpsError;
use perps_client::{instructions as ix, OrderSide, OrderType};
use perps_testkit::*;

const P: u64 = 60 * USDC;

#[tokio::test]
async fn a_position_solvent_at_the_oracle_is_taken_over_at_zero_equity_and_never_enters_the_adl_book(
) {
    // Bankruptcy price (6,000 − 100) / 100 = 59. At 59.05 Alice's equity is 5 USDC, under the
    // 11.81 USDC of a full discount (59.05 · 0.2% a lot), and the vault is empty. Before, she
    // was queued for ADL with nothing paid and the next `adl` cleared her: a livelock. Now the
    // discount shrinks to what her equity pays: Carol takes the 100 lots at 59, and the market
    // never enters ADL.
    let (mut ctx, m, alice, _bob, carol) = leveraged_long(100, 100 * USDC).await;
    let insurance = ctx.token_balance(&m.insurance_vault).await;
    ctx.set_price(&m.oracle, btc(59_050), 0).await.unwrap();
    ctx.liquidate(&m, &carol, &alice).await.unwrap();
    let a = ctx.position(&m.market, &alice.pubkey()).await;
    assert_eq!((a.base_lots, a.collateral), (0, 0));
    let c = ctx.position(&m.market, &carol.pubkey()).await;
    assert_eq!((c.base_lots, c.cost_basis), (100, 100 * 59_000_000));
    assert!(!ctx.market(&m.market).await.is_adl_pending());
    assert_eq!(ctx.token_balance(&m.insurance_vault).await, insurance);
    ctx.assert_vault_matches_positions(&m).await;
}

/// Alice liquidated at 58 (equity −100 USDC) into the market's ADL book with the 10 USDC the
/// vault held above its floor (the floor keeps the trading fees the vault already had): the book
/// holds her 100 lots from 60 with 110 USDC, and she is left empty.
async fn in_the_book_with_ten_from_the_vault(
) -> (TestContext, MarketFixture, Wallet, Wallet, Wallet) {
    let (mut ctx, m, alice, bob, carol) = leveraged_long(100, 100 * USDC).await;
    let mut params = default_params();
    params.insurance_floor = ctx.token_balance(&m.insurance_vault).await;
    ctx.update_params(&m, params).await.unwrap();
    ctx.fund_insurance(&m, 10 * USDC).await;
    ctx.set_price(&m.oracle, btc(58_000), 0).await.unwrap();
    ctx.liquidate(&m, &carol, &alice).await.unwrap();
    let book = ctx.market(&m.market).await.adl_book;
    assert_eq!(
        (book.base_lots, book.cost_basis, book.collateral),
        (100, 6_000 * USDC as i64, 110 * USDC as i64)
    );
    let a = ctx.position(&m.market, &alice.pubkey()).await;
    assert_eq!((a.base_lots, a.cost_basis, a.collateral), (0, 0, 0));
    assert_eq!(
        ctx.token_balance(&m.insurance_vault).await,
        params.insurance_floor
    );
    (ctx, m, alice, bob, carol)
}

#[tokio::test]
async fn a_book_that_recovers_closes_at_the_oracle_and_gives_the_vault_its_contribution_back() {
    // At 58 the book's equity is −90 USDC. The price comes back to 60 before the keeper fills:
    // the book is solvent at the oracle, so Bob (ranked at 58, where he was profitable) buys its
    // 100 lots back at 60 with no haircut, and everything the book held, the vault's 10 USDC and
    // Alice's forfeited 100, goes to the insurance vault.
    let (mut ctx, m, _alice, bob, _carol) = in_the_book_with_ten_from_the_vault().await;
    let insurance = ctx.token_balance(&m.insurance_vault).await;
    let bob_before = ctx.position(&m.market, &bob.pubkey()).await;
    ctx.set_price(&m.oracle, btc(60_000), 0).await.unwrap();
    let run = ctx.run_adl(&m).await;
    assert_eq!((run.sweeps, run.adl_transactions), (1, 1));
    assert!(!ctx.market(&m.market).await.is_adl_pending());
    assert_eq!(
        ctx.token_balance(&m.insurance_vault).await,
        insurance + 110 * USDC
    );
    // Closed at 60, his entry price: his collateral is unchanged.
    let b = ctx.position(&m.market, &bob.pubkey()).await;
    assert_eq!((b.base_lots, b.collateral), (0, bob_before.collateral));
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn a_deposit_after_the_takeover_is_the_depositors_own_and_leaves_the_book_alone() {
    // Alice's 100 lots are the book's; she deposits 200 into her emptied position. The book (and
    // the vault's 10 USDC in it) is unchanged, and her 200 are hers to withdraw, all of them.
    let (mut ctx, m, alice, _bob, _carol) = in_the_book_with_ten_from_the_vault().await;
    let insurance = ctx.token_balance(&m.insurance_vault).await;
    ctx.mint_to(&alice.token, 200 * USDC).await;
    ctx.deposit(&m, &alice, 200 * USDC).await.unwrap();
    let book = ctx.market(&m.market).await.adl_book;
    assert_eq!((book.base_lots, book.collateral), (100, 110 * USDC as i64));
    let a = ctx.position(&m.market, &alice.pubkey()).await;
    assert_eq!((a.base_lots, a.collateral), (0, 200 * USDC as i64));
    ctx.withdraw(&m, &alice, 200 * USDC).await.unwrap();
    assert_eq!(ctx.token_balance(&m.insurance_vault).await, insurance);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn selling_into_a_siblings_bid_down_to_a_liquidation_is_refused() {
    // Alice long 100 at 60 with 62 USDC (equity 62, maintenance 30) and a vault of 1,000 USDC.
    // Her sibling Bob bids 20 lots at 57.30, inside the 5% band. Selling into it would leave
    // her equity at 8 under a maintenance of 24, for a third sibling to liquidate with the
    // vault paying the discount. The sale is refused; nothing moves.
    let (mut ctx, m, alice, bob, carol) = leveraged_long(100, 62 * USDC).await;
    ctx.fund_insurance(&m, 1_000 * USDC).await;
    let insurance = ctx.token_balance(&m.insurance_vault).await;
    ctx.place(
        &m,
        &bob,
        order(OrderSide::Bid, 57_300_000, 20, OrderType::PostOnly),
    )
    .await
    .unwrap();
    let mut sell = order(OrderSide::Ask, 57_300_000, 20, OrderType::ImmediateOrCancel);
    sell.reduce_only = true;
    assert_perps_error(
        ctx.place(&m, &alice, sell).await,
        PerpsError::InsufficientMargin,
    );
    assert_eq!(
        ctx.position(&m.market, &alice.pubkey()).await.base_lots,
        100
    );
    assert_perps_error(
        ctx.liquidate(&m, &carol, &alice).await,
        PerpsError::NotLiquidatable,
    );
    assert_eq!(ctx.token_balance(&m.insurance_vault).await, insurance);
    // Sold at the oracle instead, the same 20 lots go through.
    ctx.place(&m, &bob, order(OrderSide::Bid, P, 20, OrderType::PostOnly))
        .await
        .unwrap();
    sell.price = P;
    ctx.place(&m, &alice, sell).await.unwrap();
    assert_eq!(ctx.position(&m.market, &alice.pubkey()).await.base_lots, 80);
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn after_the_takeover_a_price_wick_leaves_the_bankrupt_owner_nothing_to_withdraw() {
    // The book holds the vault's 10 USDC with Alice's 100. The price wicks back to 60: the book
    // now looks 110 USDC rich, but it is the market's, not hers: her position is empty and she
    // can withdraw nothing.
    let (mut ctx, m, alice, _bob, _carol) = in_the_book_with_ten_from_the_vault().await;
    ctx.set_price(&m.oracle, btc(60_000), 0).await.unwrap();
    assert_perps_error(
        ctx.withdraw(&m, &alice, 40 * USDC).await,
        PerpsError::InsufficientCollateral,
    );
    assert_perps_error(
        ctx.withdraw(&m, &alice, 1).await,
        PerpsError::InsufficientCollateral,
    );
    assert_eq!(
        ctx.market(&m.market).await.adl_book.collateral,
        110 * USDC as i64
    );
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn a_partial_liquidation_of_negative_collateral_backed_by_profit_pays_nothing_from_the_vault()
{
    // Issue 13, finding 1, end to end. Alice long 100 lots from 60 with 197 USDC; at 66 she
    // takes all 197 out (her 600 of profit backs the position). Her sibling Eve bids 300 lots at
    // 68.80 (20,640 USDC, the impact size) for two hours: longs pay 4.24% an hour, and Alice's
    // collateral goes to about −560 while her equity stays positive. At 65.90 she is under
    // maintenance and Carol liquidates her: a partial liquidation, which before paid the negative
    // collateral out of the vault. Now the vault only receives the insurance fee.
    let (mut ctx, m, alice, _bob, carol) = leveraged_long(100, 197 * USDC).await;
    let mut params = default_params();
    params.max_funding_rate_ppm = 50_000;
    ctx.update_params(&m, params).await.unwrap();
    ctx.fund_insurance(&m, 1_000 * USDC).await;
    ctx.set_price(&m.oracle, btc(66_000), 0).await.unwrap();
    ctx.withdraw(&m, &alice, 197 * USDC).await.unwrap();
    let eve = ctx.funded_position(&m, 5_000 * USDC, 0).await;
    ctx.place(
        &m,
        &eve,
        order(OrderSide::Bid, 68_800_000, 300, OrderType::PostOnly),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        ctx.advance_clock(3_600).await;
        ctx.set_price(&m.oracle, btc(66_000), 0).await.unwrap();
        ctx.send(&[ix::crank_funding(&m.keys())], &[])
            .await
            .unwrap();
    }
    // (68.80 − 66) / 66 = 42,424 ppm of 66 USDC a lot, twice: 2.799984 USDC a lot an hour.
    assert_eq!(ctx.market(&m.market).await.last_funding_rate_ppm, 42_424);
    ctx.settle_all_funding(&m).await;
    let a = ctx.position(&m.market, &alice.pubkey()).await;
    assert_eq!(a.collateral, -559_996_800);
    ctx.set_price(&m.oracle, btc(65_900), 0).await.unwrap();
    let insurance = ctx.token_balance(&m.insurance_vault).await;
    ctx.liquidate(&m, &carol, &alice).await.unwrap();
    let a = ctx.position(&m.market, &alice.pubkey()).await;
    assert!(
        a.base_lots > 0 && a.base_lots < 100,
        "partial: {} lots left",
        a.base_lots
    );
    assert!(
        a.collateral < 0,
        "still negative collateral, backed by profit"
    );
    let equity = a.collateral as i128 + a.base_lots as i128 * 65_900_000 - a.cost_basis as i128;
    assert!(equity > 0);
    assert!(
        ctx.token_balance(&m.insurance_vault).await > insurance,
        "the vault received the insurance fee and paid nothing"
    );
    assert!(!ctx.market(&m.market).await.is_adl_pending());
    ctx.assert_vault_matches_positions(&m).await;
}

#[tokio::test]
async fn a_vault_refilled_during_adl_pays_the_books_deficit_before_any_candidate_is_haircut() {
    // The book's equity at 58 is −90 USDC after the vault's 10. Someone funds the vault with 200
    // before the keeper fills: the `adl` step draws the 90 from the vault first, which brings the
    // book's bankruptcy price to the oracle, and Bob buys its 100 lots back at 58 keeping all of
    // his 200 USDC of profit.
    let (mut ctx, m, _alice, bob, _carol) = in_the_book_with_ten_from_the_vault().await;
    ctx.fund_insurance(&m, 200 * USDC).await;
    let insurance = ctx.token_balance(&m.insurance_vault).await;
    let bob_before = ctx.position(&m.market, &bob.pubkey()).await;
    let run = ctx.run_adl(&m).await;
    assert_eq!((run.sweeps, run.adl_transactions), (1, 1));
    assert!(!ctx.market(&m.market).await.is_adl_pending());
    assert_eq!(
        ctx.token_balance(&m.insurance_vault).await,
        insurance - 90 * USDC
    );
    let b = ctx.position(&m.market, &bob.pubkey()).await;
    assert_eq!(
        (b.base_lots, b.collateral - bob_before.collateral),
        (0, 200 * USDC as i64)
    );
    ctx.assert_vault_matches_positions(&m).await;
}
