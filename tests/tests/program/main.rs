//! Integration tests: every instruction through the real bank, its success and its bad inputs.
//! One binary, so the bank and the program are linked once.

mod collateral;
mod exchange;
mod market;
mod oracle;
mod price_feed;
mod sizes;
