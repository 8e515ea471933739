//! The engine's hot paths as a raw SBF program, for metering their compute units.
//!
//! One instruction runs one path: the instruction data is `[path, stage, size (u16 LE)]`. Stage 0
//! only builds the path's inputs; each further stage runs one more step of the path, so the
//! runner states a step's figure as the difference between two stages, net of input building and
//! of the entrypoint. Inputs are deterministic; the order book comes in an account prepared
//! natively with the same engine (`fixtures::fill_book`), since 73 KB fits neither the 4 KB stack
//! frame nor the 32 KB heap.
//!
//! The crate is `no_std` on the BPF target and an ordinary library elsewhere, so the runner shares
//! its paths and fixtures and its tests run every path natively too.
#![cfg_attr(target_arch = "bpf", no_std)]

extern crate alloc;

pub mod cases;
pub mod fixtures;

#[cfg(target_arch = "bpf")]
mod entrypoint;
