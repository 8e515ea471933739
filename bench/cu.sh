#!/usr/bin/env bash
# Builds the SBF benchmark program (fetching its toolchain into .sbf/ on first use, see
# bench/build-sbf.sh) and prints the compute-unit table of the engine's hot paths.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
so="$(bash "$root/bench/build-sbf.sh" | tail -n 1)"
cd "$root"
cargo run --quiet --locked -p perps-cu -- "$so"
