//! Token movements into and out of a market's PDA-owned vaults.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Token, TokenAccount, Transfer};

use crate::state::{Market, MarketSigner};

/// Moves `amount` from a user's token account into a vault, signed by the user.
pub fn transfer_in<'info>(
    token_program: &Program<'info, Token>,
    from: &Account<'info, TokenAccount>,
    vault: &Account<'info, TokenAccount>,
    authority: &Signer<'info>,
    amount: u64,
) -> Result<()> {
    token::transfer(
        CpiContext::new(
            token_program.key(),
            Transfer {
                from: from.to_account_info(),
                to: vault.to_account_info(),
                authority: authority.to_account_info(),
            },
        ),
        amount,
    )
}

/// A payment out of one of a market's vaults.
pub struct Payout<'a, 'info> {
    pub from: &'a Account<'info, TokenAccount>,
    pub to: &'a Account<'info, TokenAccount>,
    pub amount: u64,
}

/// Releases the market and every other loaded account (`loaded`, dropped here: a CPI cannot
/// take an account whose data is still borrowed), then makes each non-zero payout, signed by
/// the market PDA that owns the vaults.
pub fn release_then_pay_out<'info, L>(
    market: impl core::ops::Deref<Target = Market>,
    loaded: L,
    token_program: &Program<'info, Token>,
    market_info: AccountInfo<'info>,
    payouts: &[Payout<'_, 'info>],
) -> Result<()> {
    let signer = market.signer();
    drop(market);
    drop(loaded);
    for payout in payouts.iter().filter(|p| p.amount > 0) {
        transfer_out(
            token_program,
            payout.from,
            payout.to,
            market_info.clone(),
            &signer,
            payout.amount,
        )?;
    }
    Ok(())
}

/// Moves `amount` out of a vault, signed by the market PDA that owns it.
fn transfer_out<'info>(
    token_program: &Program<'info, Token>,
    vault: &Account<'info, TokenAccount>,
    to: &Account<'info, TokenAccount>,
    market: AccountInfo<'info>,
    signer: &MarketSigner,
    amount: u64,
) -> Result<()> {
    let seeds = signer.seeds();
    token::transfer(
        CpiContext::new_with_signer(
            token_program.key(),
            Transfer {
                from: vault.to_account_info(),
                to: to.to_account_info(),
                authority: market,
            },
            &[&seeds],
        ),
        amount,
    )
}
