use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::{Emitter, PriceFeedCreated},
    state::{Exchange, PriceFeed, EXCHANGE_SEED, MARKET_SEED, PRICE_FEED_SEED},
};

/// Largest exponent magnitude a feed may use (Pyth feeds use −5 to −10).
pub const MAX_FEED_EXPO: i32 = 18;

#[event_cpi]
#[derive(Accounts)]
#[instruction(market_index: u16)]
pub struct CreatePriceFeed<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.bump, has_one = admin @ PerpsError::Unauthorized)]
    pub exchange: Box<Account<'info, Exchange>>,
    /// CHECK: the PDA of the market this feed will price; it may not exist yet, since a market
    /// names its oracle when it is created.
    #[account(seeds = [MARKET_SEED, &market_index.to_le_bytes()], bump)]
    pub market: UncheckedAccount<'info>,
    #[account(
        init,
        payer = admin,
        space = 8 + PriceFeed::INIT_SPACE,
        seeds = [PRICE_FEED_SEED, market.key().as_ref()],
        bump
    )]
    pub price_feed: Box<Account<'info, PriceFeed>>,
    pub system_program: Program<'info, System>,
}

pub fn handler(
    ctx: Context<CreatePriceFeed>,
    _market_index: u16,
    authority: Pubkey,
    expo: i32,
) -> Result<()> {
    require!(
        expo.unsigned_abs() <= MAX_FEED_EXPO as u32,
        PerpsError::InvalidOracleConfig
    );
    ctx.accounts.price_feed.set_inner(PriceFeed {
        market: ctx.accounts.market.key(),
        authority,
        price: 0,
        conf: 0,
        publish_time: 0,
        expo,
        bump: ctx.bumps.price_feed,
        version: PriceFeed::VERSION,
        _reserved: [0; 32],
    });
    Emitter::new(&ctx.accounts.event_authority)?.emit_now(&PriceFeedCreated {
        feed: ctx.accounts.price_feed.key(),
        market: ctx.accounts.market.key(),
        authority,
        expo,
    })?;
    Ok(())
}
