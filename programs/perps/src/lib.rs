//! perps: an on-chain perpetual-futures exchange whose last line of defence is auto-deleveraging.
//!
//! A thin Anchor adapter over `perps-engine`: every formula lives in the engine; this crate checks
//! accounts, moves tokens and stores state. See DESIGN.md for what each instruction means.
#![allow(unexpected_cfgs)]
// The 128-bit library calls of an upstream-LLVM build (sbf_intrinsics).
#![cfg_attr(target_arch = "bpf", feature(abi_unadjusted), allow(internal_features))]

use anchor_lang::prelude::*;
// Upstream LLVM's BPF target (sbf/build.sh) links the intrinsics from this crate.
#[cfg(target_arch = "bpf")]
use solana_compiler_builtins as _;

pub mod error;
pub mod events;
#[cfg(any(test, target_os = "solana"))]
mod heap;
pub mod instructions;
pub mod oracle;
#[cfg(any(test, target_arch = "bpf"))]
mod sbf_intrinsics;
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

    /// Creates the singleton exchange: its collateral mint, fee treasury and the bounds every
    /// market must respect. Only the program's upgrade authority may call it (checked against the
    /// program's ProgramData account); it becomes the admin.
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

    /// Admin: creates the program's own price feed for a market index (localnet, tests and the
    /// simulator; production markets read Pyth), pushed to by `authority`.
    pub fn create_price_feed(
        ctx: Context<CreatePriceFeed>,
        market_index: u16,
        authority: Pubkey,
        expo: i32,
    ) -> Result<()> {
        create_price_feed::handler(ctx, market_index, authority, expo)
    }

    /// The feed's authority pushes a positive price and confidence, stamped with the cluster
    /// clock.
    pub fn set_price(ctx: Context<SetPrice>, price: i64, conf: u64) -> Result<()> {
        set_price::handler(ctx, price, conf)
    }

    /// Admin: validates the parameters against the exchange's bounds, checks the oracle account
    /// and creates the market with its collateral and insurance vaults (PDAs it owns).
    pub fn create_market(
        ctx: Context<CreateMarket>,
        symbol: [u8; 16],
        params: MarketParams,
    ) -> Result<()> {
        create_market::handler(ctx, symbol, params)
    }

    /// Admin: replaces a market's parameters; tick, lot and oracle identity are immutable and no
    /// maintenance rate may rise.
    pub fn update_market_params(
        ctx: Context<UpdateMarketParams>,
        params: MarketParams,
    ) -> Result<()> {
        update_market_params::handler(ctx, params)
    }

    /// Admin: Active, ReduceOnly or Paused; Settled fixes the settlement price at the oracle for
    /// good (refused while the market is in ADL).
    pub fn set_market_status(ctx: Context<SetMarketStatus>, status: MarketStatus) -> Result<()> {
        set_market_status::handler(ctx, status)
    }

    /// Opens the signer's Position in a market (a PDA of market and owner) and registers it in
    /// the market's registry (`RegistryFull` when no slot is free).
    pub fn open_position(ctx: Context<OpenPosition>) -> Result<()> {
        open_position::handler(ctx)
    }

    /// Moves `amount` of the collateral mint from the owner's token account into the position.
    pub fn deposit(ctx: Context<Deposit>, amount: u64) -> Result<()> {
        deposit::handler(ctx, amount)
    }

    /// Takes `amount` out of the position: everything from an idle one (no lots, no orders),
    /// otherwise only what keeps initial margin at the oracle (the settlement price once
    /// settled).
    pub fn withdraw(ctx: Context<Withdraw>, amount: u64) -> Result<()> {
        withdraw::handler(ctx, amount)
    }

    /// Closes a flat, order-free, empty position, frees its registry slot and returns its rent.
    pub fn close_position(ctx: Context<ClosePosition>) -> Result<()> {
        close_position::handler(ctx)
    }

    /// Anyone adds `amount` to a market's insurance vault.
    pub fn fund_insurance(ctx: Context<FundInsurance>, amount: u64) -> Result<()> {
        fund_insurance::handler(ctx, amount)
    }

    /// Admin: adopts a client-created, zeroed account as the market's order book.
    pub fn initialize_order_book(ctx: Context<InitializeOrderBook>) -> Result<()> {
        initialize_order_book::handler(ctx)
    }

    /// Admin: adopts a client-created, zeroed account as the market's position registry; its size
    /// fixes how many positions the market holds.
    pub fn initialize_position_registry(ctx: Context<InitializePositionRegistry>) -> Result<()> {
        initialize_position_registry::handler(ctx)
    }

    /// Places an order: matches the book in price-time priority (the makers it reaches are the
    /// remaining accounts, in book order), settles every fill and its fees at once, then rests or
    /// drops the remainder. The position must meet initial margin afterwards unless the order
    /// only reduced its risk.
    pub fn place_order<'info>(
        ctx: Context<'info, PlaceOrder<'info>>,
        args: PlaceOrderArgs,
    ) -> Result<()> {
        place_order::handler(ctx, args)
    }

    /// Cancels one of the owner's resting orders, by order id or client order id, in any market
    /// status.
    pub fn cancel_order(ctx: Context<CancelOrder>, by: CancelBy) -> Result<()> {
        cancel_order::handler(ctx, by)
    }

    /// Cancels every resting order of the owner's position, in any market status.
    pub fn cancel_all_orders(ctx: Context<CancelAllOrders>) -> Result<()> {
        cancel_all_orders::handler(ctx)
    }

    /// Permissionless, at most once per funding interval: moves the funding index by the book's
    /// time-weighted impact premium over the oracle and sweeps funding rounding to insurance.
    pub fn crank_funding(ctx: Context<CrankFunding>) -> Result<()> {
        crank_funding::handler(ctx)
    }

    /// Permissionless: settles one position's funding into its collateral.
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

    /// Permissionless: liquidates a position below maintenance margin into the signer's own
    /// position (the smallest restoring size, or all of it), the insurance vault taking its fee
    /// or paying a bankruptcy; a bankruptcy the vault cannot cover goes into the market's ADL
    /// book.
    pub fn liquidate(ctx: Context<Liquidate>) -> Result<()> {
        liquidate::handler(ctx)
    }

    /// Permissionless: ranks the registry slots `first_slot .. first_slot + slot_count` for the
    /// current ADL sweep. The remaining accounts must be exactly the positions registered there,
    /// in slot order; each eligible one is scored at the sweep's snapshot price and kept in the
    /// on-chain ranking if among the best 128.
    pub fn rank_adl_candidates<'info>(
        ctx: Context<'info, RankAdlCandidates<'info>>,
        first_slot: u32,
        slot_count: u32,
    ) -> Result<()> {
        rank_adl_candidates::handler(ctx, first_slot, slot_count)
    }

    /// Permissionless: one step of closing the market's ADL book down the on-chain ranking. The
    /// vault pays first; the remaining accounts must be the ranking's next entries, in order;
    /// each gives what it can at the book's bankruptcy price (the oracle once solvent).
    pub fn adl<'info>(ctx: Context<'info, Adl<'info>>) -> Result<()> {
        adl::handler(ctx)
    }

    /// Admin: takes insurance above the market's floor, never during ADL or before a settled
    /// market is fully settled.
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
