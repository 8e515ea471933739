use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::{Emitter, EventHeader, MarketParamsUpdated},
    state::{Exchange, ExchangeBounds, Market, MarketParams, MarketStatus, EXCHANGE_SEED},
};

#[event_cpi]
#[derive(Accounts)]
pub struct UpdateMarketParams<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.bump, has_one = admin @ PerpsError::Unauthorized)]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(mut, has_one = exchange @ PerpsError::WrongMarket)]
    pub market: AccountLoader<'info, Market>,
}

/// Admin only: replaces the market's parameters, validated as at creation and against the
/// current ones (immutable fields, no maintenance rate increase).
pub fn handler(ctx: Context<UpdateMarketParams>, params: MarketParams) -> Result<()> {
    let mut market = ctx.accounts.market.load_mut()?;
    update_market_params_action(&mut market, &ctx.accounts.exchange.bounds, params)?;
    Emitter::new(&ctx.accounts.event_authority)?.emit_market_now(
        &mut market,
        MarketParamsUpdated {
            header: EventHeader::of(ctx.accounts.market.key()),
        },
    )?;
    Ok(())
}

pub fn update_market_params_action(
    market: &mut Market,
    bounds: &ExchangeBounds,
    params: MarketParams,
) -> Result<()> {
    require!(
        market.status()? != MarketStatus::Settled,
        PerpsError::MarketSettled
    );
    params.validate(bounds)?;
    params.validate_update(&market.params)?;
    market.params = params;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn bounds() -> ExchangeBounds {
        ExchangeBounds {
            max_taker_fee_bps: 100,
            min_maintenance_rate_ppm: 1_000,
            max_oracle_staleness_secs: 120,
            max_oracle_confidence_ppm: 50_000,
        }
    }

    #[test]
    fn lowers_a_fee_but_refuses_a_higher_maintenance_rate_and_a_settled_market() {
        let mut market = testing::market();
        let mut cheaper = market.params;
        cheaper.taker_fee_bps = 4;
        update_market_params_action(&mut market, &bounds(), cheaper).unwrap();
        assert_eq!(market.params.taker_fee_bps, 4);
        let mut riskier = market.params;
        riskier.margin_tiers[0].maintenance_rate_ppm += 1;
        assert_eq!(
            update_market_params_action(&mut market, &bounds(), riskier).unwrap_err(),
            PerpsError::MaintenanceRateIncrease.into()
        );
        market.status = MarketStatus::Settled as u8;
        assert_eq!(
            update_market_params_action(&mut market, &bounds(), cheaper).unwrap_err(),
            PerpsError::MarketSettled.into()
        );
        assert_eq!(
            market.params.margin_tiers,
            testing::default_params().margin_tiers
        );
    }
}
