use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::{Emitter, OracleAuthorityChanged},
    state::{Exchange, PriceFeed, EXCHANGE_SEED},
};

#[event_cpi]
#[derive(Accounts)]
pub struct SetOracleAuthority<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.bump, has_one = admin @ PerpsError::Unauthorized)]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(mut)]
    pub price_feed: Box<Account<'info, PriceFeed>>,
}

/// Rotates the key allowed to push prices to one of the program's price feeds.
pub fn handler(ctx: Context<SetOracleAuthority>, authority: Pubkey) -> Result<()> {
    let mut emitter = Emitter::new(&ctx.accounts.event_authority)?;
    let feed = &mut ctx.accounts.price_feed;
    let old_authority = feed.authority;
    feed.authority = authority;
    emitter.emit(&OracleAuthorityChanged {
        feed: feed.key(),
        old_authority,
        new_authority: authority,
    })?;
    emitter.flush()
}
