use anchor_lang::prelude::*;

use crate::error::PerpsError;

pub const EXCHANGE_SEED: &[u8] = b"exchange";

/// Absolute limits on the exchange's own bounds: whatever the admin sets stays inside these.
pub const MAX_FEE_BPS_LIMIT: u16 = 1_000;
pub const MAX_ORACLE_STALENESS_LIMIT_SECS: u32 = 3_600;
pub const MAX_ORACLE_CONFIDENCE_LIMIT_PPM: u32 = 100_000;

/// Bounds every market's parameters must respect; set once with the exchange.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct ExchangeBounds {
    /// The highest taker fee a market may charge, in basis points.
    pub max_taker_fee_bps: u16,
    /// The lowest maintenance margin rate any tier may have (caps leverage), in ppm.
    pub min_maintenance_rate_ppm: u32,
    /// The oldest oracle report any market may accept, in seconds.
    pub max_oracle_staleness_secs: u32,
    /// The widest oracle confidence interval any market may accept, in ppm of the price.
    pub max_oracle_confidence_ppm: u32,
}

impl ExchangeBounds {
    pub fn validate(&self) -> Result<()> {
        require!(
            self.max_taker_fee_bps <= MAX_FEE_BPS_LIMIT
                && self.min_maintenance_rate_ppm > 0
                && self.min_maintenance_rate_ppm < perps_engine::PPM
                && self.max_oracle_staleness_secs > 0
                && self.max_oracle_staleness_secs <= MAX_ORACLE_STALENESS_LIMIT_SECS
                && self.max_oracle_confidence_ppm > 0
                && self.max_oracle_confidence_ppm <= MAX_ORACLE_CONFIDENCE_LIMIT_PPM,
            PerpsError::InvalidExchangeBounds
        );
        Ok(())
    }
}

/// The exchange: its admin, its one collateral mint, where fees go, and the bounds on markets.
#[account]
#[derive(InitSpace)]
pub struct Exchange {
    /// The admin.
    pub admin: Pubkey,
    /// The collateral mint.
    pub collateral_mint: Pubkey,
    /// Token account of `collateral_mint` that receives the treasury's share of fees.
    pub treasury: Pubkey,
    /// Bounds every market's parameters must respect.
    pub bounds: ExchangeBounds,
    /// Markets created so far; the next market's index.
    pub market_count: u16,
    /// Decimals of the collateral mint.
    pub collateral_decimals: u8,
    /// The PDA's bump.
    pub bump: u8,
    /// The admin proposed by `propose_admin`, until it accepts (`Pubkey::default()` when none).
    pub pending_admin: Pubkey,
    /// While set, every user instruction but cancels and withdrawals of idle positions is
    /// refused on every market (`ExchangePaused`).
    pub paused: bool,
    /// The account layout's version (`Exchange::VERSION` when created).
    pub version: u8,
    /// Zeroes, for fields a later version adds (README: Accounts).
    pub _reserved: [u8; 128],
}

impl Exchange {
    pub const VERSION: u8 = 1;
}

// The README's account table: 8 + 276 bytes, 128 of them reserved.
const _: () = assert!(8 + Exchange::INIT_SPACE == 284);
