//! Integration tests: every instruction through the real bank, its success and its bad inputs.
//! One binary, so the bank and the program are linked once.
// solana-program-test 3.x marks its whole API "unstable" (a deprecation warning).
#![allow(deprecated)]

mod adl;
mod attack;
mod capacity;
mod collateral;
mod exchange;
mod liquidation;
mod market;
mod oracle;
mod price_feed;
mod sizes;
mod trading;
mod waterfall;
