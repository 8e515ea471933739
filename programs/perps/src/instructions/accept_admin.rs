use anchor_lang::prelude::*;

use crate::{
    error::PerpsError,
    events::{AdminChanged, Emitter},
    state::{Exchange, EXCHANGE_SEED},
};

#[event_cpi]
#[derive(Accounts)]
pub struct AcceptAdmin<'info> {
    /// The proposed admin: only its signature completes the transfer.
    pub new_admin: Signer<'info>,
    #[account(mut, seeds = [EXCHANGE_SEED], bump = exchange.bump)]
    pub exchange: Box<Account<'info, Exchange>>,
}

/// Second step of an admin transfer: the proposed admin takes over.
pub fn handler(ctx: Context<AcceptAdmin>) -> Result<()> {
    let mut emitter = Emitter::new(&ctx.accounts.event_authority)?;
    let new_admin = ctx.accounts.new_admin.key();
    let old_admin = accept_admin_action(&mut ctx.accounts.exchange, &new_admin)?;
    emitter.emit(&AdminChanged {
        old_admin,
        new_admin,
    })?;
    emitter.flush()
}

/// Makes `signer` the admin if it is the pending one (`NotPendingAdmin` otherwise, and always
/// when nothing is pending); returns the admin it replaced.
pub fn accept_admin_action(exchange: &mut Exchange, signer: &Pubkey) -> Result<Pubkey> {
    require!(
        exchange.pending_admin != Pubkey::default() && exchange.pending_admin == *signer,
        PerpsError::NotPendingAdmin
    );
    let old_admin = exchange.admin;
    exchange.admin = *signer;
    exchange.pending_admin = Pubkey::default();
    Ok(old_admin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(admin: Pubkey) -> Exchange {
        Exchange {
            admin,
            collateral_mint: Pubkey::new_unique(),
            treasury: Pubkey::new_unique(),
            bounds: crate::state::ExchangeBounds {
                max_taker_fee_bps: 10,
                min_maintenance_rate_ppm: 5_000,
                max_oracle_staleness_secs: 60,
                max_oracle_confidence_ppm: 10_000,
            },
            market_count: 0,
            collateral_decimals: 6,
            bump: 255,
            pending_admin: Pubkey::default(),
            paused: false,
            version: Exchange::VERSION,
            _reserved: [0; 128],
        }
    }

    #[test]
    fn only_the_proposed_admin_completes_a_transfer_and_only_once() {
        let (admin, next, stranger) = (
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        );
        let mut ex = exchange(admin);
        // Nothing proposed: not even the default key may accept.
        assert_eq!(
            accept_admin_action(&mut ex, &Pubkey::default()).unwrap_err(),
            PerpsError::NotPendingAdmin.into()
        );
        ex.pending_admin = next;
        assert_eq!(
            accept_admin_action(&mut ex, &stranger).unwrap_err(),
            PerpsError::NotPendingAdmin.into()
        );
        assert_eq!(ex.admin, admin);
        assert_eq!(accept_admin_action(&mut ex, &next).unwrap(), admin);
        assert_eq!((ex.admin, ex.pending_admin), (next, Pubkey::default()));
        assert_eq!(
            accept_admin_action(&mut ex, &next).unwrap_err(),
            PerpsError::NotPendingAdmin.into()
        );
    }
}
