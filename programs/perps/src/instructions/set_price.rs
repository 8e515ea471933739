use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::{Emitter, PriceFeedUpdated},
    state::PriceFeed,
};

#[event_cpi]
#[derive(Accounts)]
pub struct SetPrice<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpsError::Unauthorized)]
    pub price_feed: Box<Account<'info, PriceFeed>>,
}

/// Pushes a price stamped with the current cluster time.
pub fn handler(ctx: Context<SetPrice>, price: i64, conf: u64) -> Result<()> {
    let mut emitter = Emitter::new(&ctx.accounts.event_authority)?;
    require!(price > 0, PerpsError::InvalidOraclePrice);
    let publish_time = Clock::get()?.unix_timestamp;
    let feed = &mut ctx.accounts.price_feed;
    feed.price = price;
    feed.conf = conf;
    feed.publish_time = publish_time;
    emitter.emit(&PriceFeedUpdated {
        feed: feed.key(),
        price,
        conf,
        publish_time,
    })?;
    emitter.flush()
}
