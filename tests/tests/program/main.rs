//! Integration tests: every instruction through the real bank, its success and its bad inputs.
//! One binary, so the bank and the program are linked once.
// solana-program-test 3.x marks its whole API "unstable" (a deprecation warning).
#![allow(deprecated)]

mod adl;
mod adl_ranking;
mod adl_status;
mod admin;
mod attack;
mod book_full;
mod capacity;
mod collateral;
mod compute_units;
mod exchange;
mod funding;
mod liquidation;
mod market;
mod negative_bankruptcy;
mod oracle;
mod oracle_adjustments;
mod price_feed;
mod settlement;
mod sizes;
mod trading;
mod waterfall;
