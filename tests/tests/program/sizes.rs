use perps_client::pda;
use perps_testkit::*;

/// The sizes the README's account table lists, with Anchor's 8-byte discriminator.
const EXCHANGE_BYTES: usize = 284;
const MARKET_BYTES: usize = 1_072;
const POSITION_BYTES: usize = 200;
const PRICE_FEED_BYTES: usize = 134;
const TOKEN_ACCOUNT_BYTES: usize = 165;
const ORDER_BOOK_BYTES: usize = 73_864;
/// The position registry as the tests create it, for `REGISTRY_CAPACITY` (1,024) positions.
const REGISTRY_BYTES: usize = 51_368;

#[tokio::test]
async fn account_sizes_and_rent_are_as_documented() {
    let mut ctx = TestContext::with_exchange().await;
    let m = ctx.create_market().await;
    let owner = ctx.funded_position(&m, 0, 0).await;
    let rent = ctx.rent().await;
    let accounts = [
        ("Exchange", pda::exchange(), EXCHANGE_BYTES),
        ("Market", m.market, MARKET_BYTES),
        (
            "Position",
            pda::position(&m.market, &owner.pubkey()),
            POSITION_BYTES,
        ),
        ("PriceFeed", m.oracle, PRICE_FEED_BYTES),
        ("OrderBook", m.order_book, ORDER_BOOK_BYTES),
        ("PositionRegistry", m.registry, REGISTRY_BYTES),
        ("Collateral vault", m.collateral_vault, TOKEN_ACCOUNT_BYTES),
        ("Insurance vault", m.insurance_vault, TOKEN_ACCOUNT_BYTES),
    ];
    assert_eq!(
        perps::state::registry_account_size(REGISTRY_CAPACITY),
        REGISTRY_BYTES
    );
    for (name, key, bytes) in accounts {
        let account = ctx.account(&key).await.expect(name);
        assert_eq!(account.data.len(), bytes, "{name} size");
        assert_eq!(account.lamports, rent.minimum_balance(bytes), "{name} rent");
        println!(
            "{name}: {bytes} bytes, rent {} lamports ({:.6} SOL)",
            account.lamports,
            account.lamports as f64 / 1e9
        );
    }
}
