//! perps: an on-chain perpetual-futures exchange whose last line of defence is auto-deleveraging.
//!
//! A thin Anchor adapter over `perps-engine`: every formula lives in the engine; this crate checks
//! accounts, moves tokens and stores state. See DESIGN.md for what each instruction means.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod error;
pub mod events;
pub mod instructions;
pub mod oracle;
pub mod state;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod vault;

use instructions::*;
use state::{CancelBy, ExchangeBounds, MarketParams, MarketStatus};

declare_id!("FLDcqbBAcYoPFrkSziCNGKRE8r9tXN9G4VnTQ3WpAZxL");

// Where to report a vulnerability, embedded in the program binary (the `solana-security-txt`
// convention, read by explorers and `query-security-txt`). The contacts and the source address
// are the deployer's, taken from the build's environment (build.rs, SECURITY.md).
#[cfg(not(feature = "no-entrypoint"))]
solana_security_txt::security_txt! {
    name: "perps",
    project_url: env!("PERPS_SOURCE_URL"),
    contacts: env!("PERPS_SECURITY_CONTACTS"),
    policy: "SECURITY.md in the program's source",
    preferred_languages: "en",
    source_code: env!("PERPS_SOURCE_URL")
}

#[program]
pub mod perps {
    use super::*;

    pub fn initialize_exchange(
        ctx: Context<InitializeExchange>,
        bounds: ExchangeBounds,
    ) -> Result<()> {
        initialize_exchange::handler(ctx, bounds)
    }

    /// Names the next admin; the transfer completes when it signs `accept_admin`.
    pub fn propose_admin(ctx: Context<ProposeAdmin>, proposed: Pubkey) -> Result<()> {
        propose_admin::handler(ctx, proposed)
    }

    /// The proposed admin takes over.
    pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
        accept_admin::handler(ctx)
    }

    /// Points the treasury's share of fees at another token account of the collateral mint.
    pub fn set_treasury(ctx: Context<SetTreasury>) -> Result<()> {
        set_treasury::handler(ctx)
    }

    /// Rotates a price feed's authority.
    pub fn set_oracle_authority(ctx: Context<SetOracleAuthority>, authority: Pubkey) -> Result<()> {
        set_oracle_authority::handler(ctx, authority)
    }

    /// Pauses or resumes the whole exchange.
    pub fn set_exchange_paused(ctx: Context<SetExchangePaused>, paused: bool) -> Result<()> {
        set_exchange_paused::handler(ctx, paused)
    }

    pub fn create_price_feed(
        ctx: Context<CreatePriceFeed>,
        market_index: u16,
        authority: Pubkey,
        expo: i32,
    ) -> Result<()> {
        create_price_feed::handler(ctx, market_index, authority, expo)
    }

    pub fn set_price(ctx: Context<SetPrice>, price: i64, conf: u64) -> Result<()> {
        set_price::handler(ctx, price, conf)
    }

    pub fn create_market(
        ctx: Context<CreateMarket>,
        symbol: [u8; 16],
        params: MarketParams,
    ) -> Result<()> {
        create_market::handler(ctx, symbol, params)
    }

    pub fn update_market_params(
        ctx: Context<UpdateMarketParams>,
        params: MarketParams,
    ) -> Result<()> {
        update_market_params::handler(ctx, params)
    }

    pub fn set_market_status(ctx: Context<SetMarketStatus>, status: MarketStatus) -> Result<()> {
        set_market_status::handler(ctx, status)
    }

    pub fn open_position(ctx: Context<OpenPosition>) -> Result<()> {
        open_position::handler(ctx)
    }

    pub fn deposit(ctx: Context<Deposit>, amount: u64) -> Result<()> {
        deposit::handler(ctx, amount)
    }

    pub fn withdraw(ctx: Context<Withdraw>, amount: u64) -> Result<()> {
        withdraw::handler(ctx, amount)
    }

    pub fn close_position(ctx: Context<ClosePosition>) -> Result<()> {
        close_position::handler(ctx)
    }

    pub fn fund_insurance(ctx: Context<FundInsurance>, amount: u64) -> Result<()> {
        fund_insurance::handler(ctx, amount)
    }

    pub fn initialize_order_book(ctx: Context<InitializeOrderBook>) -> Result<()> {
        initialize_order_book::handler(ctx)
    }

    pub fn initialize_position_registry(ctx: Context<InitializePositionRegistry>) -> Result<()> {
        initialize_position_registry::handler(ctx)
    }

    pub fn place_order<'info>(
        ctx: Context<'info, PlaceOrder<'info>>,
        args: PlaceOrderArgs,
    ) -> Result<()> {
        place_order::handler(ctx, args)
    }

    pub fn cancel_order(ctx: Context<CancelOrder>, by: CancelBy) -> Result<()> {
        cancel_order::handler(ctx, by)
    }

    pub fn cancel_all_orders(ctx: Context<CancelAllOrders>) -> Result<()> {
        cancel_all_orders::handler(ctx)
    }

    pub fn crank_funding(ctx: Context<CrankFunding>) -> Result<()> {
        crank_funding::handler(ctx)
    }

    pub fn settle_funding(ctx: Context<SettleFunding>) -> Result<()> {
        settle_funding::handler(ctx)
    }

    /// Permissionless, in a Settled market only: closes one position at the settlement price
    /// (funding settled first, resting orders cancelled, no fee), after which its owner
    /// withdraws everything and closes the account. Sweeps the market's whole atoms of funding
    /// rounding to insurance. A position with no lots and no orders is refused with
    /// `FlatPosition` unless the market still has residue to sweep.
    pub fn settle_position(ctx: Context<SettlePosition>) -> Result<()> {
        settle_position::handler(ctx)
    }

    pub fn liquidate(ctx: Context<Liquidate>) -> Result<()> {
        liquidate::handler(ctx)
    }

    pub fn rank_adl_candidates<'info>(
        ctx: Context<'info, RankAdlCandidates<'info>>,
        first_slot: u32,
        slot_count: u32,
    ) -> Result<()> {
        rank_adl_candidates::handler(ctx, first_slot, slot_count)
    }

    pub fn adl<'info>(ctx: Context<'info, Adl<'info>>) -> Result<()> {
        adl::handler(ctx)
    }

    pub fn withdraw_insurance(ctx: Context<WithdrawInsurance>, amount: u64) -> Result<()> {
        withdraw_insurance::handler(ctx, amount)
    }
}

// Only a build with the entrypoint embeds it: `cargo test -p perps --lib` (CI runs it), not the
// workspace's test build, which unifies in the callers' `no-entrypoint`.
#[cfg(all(test, not(feature = "no-entrypoint")))]
mod security_txt_tests {
    #[test]
    fn the_binary_carries_a_security_txt_with_its_contacts_and_policy() {
        let text = super::SECURITY_TXT;
        assert!(text.starts_with("=======BEGIN SECURITY.TXT V1=======\0name\0perps\0"));
        assert!(text.ends_with("=======END SECURITY.TXT V1=======\0"));
        for field in ["project_url", "contacts", "policy", "source_code"] {
            assert!(text.contains(&format!("\0{field}\0")), "{field}");
        }
    }
}
