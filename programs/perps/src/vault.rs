//! Token movements into and out of a market's PDA-owned vaults.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Token, TokenAccount, Transfer};

use crate::state::MarketSigner;

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

/// Moves `amount` out of a vault, signed by the market PDA that owns it.
pub fn transfer_out<'info>(
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
