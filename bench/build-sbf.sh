#!/usr/bin/env bash
# Builds the benchmark program bench/sbf for SBF without a Solana toolchain, from the registries
# only, and prints the path of the .so. Everything goes under .sbf/ (gitignored); nothing is
# installed system-wide:
#   .sbf/toolchain  Debian's rustc-web 1.96 (LLVM 22) with its prebuilt core, alloc and
#                   compiler_builtins for bpfel-unknown-none, unpacked with dpkg -x
#   .sbf/bin        sbpf-linker 0.1.9 from crates.io (0.2.x needs LLVM 23), which relinks the
#                   upstream BPF bitcode into an SBPF v0 program, loading rustc-web's libLLVM
#   .sbf/target     the build
# The first run downloads about 120 MB and compiles the linker (a few minutes); later runs only
# rebuild the program.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
sbf="$root/.sbf"
toolchain="$sbf/toolchain"

if [ ! -x "$toolchain/usr/bin/rustc" ]; then
  packages=(rustc-web libstd-rust-web-1.96 libstd-rust-web-dev libstd-rust-web-dev-bpf libllvm22)
  # rustc-web 1.96 comes from bookworm-security: refresh stale package lists once.
  if ! apt-cache show libstd-rust-web-dev-bpf >/dev/null 2>&1 \
    || ! apt-cache show libstd-rust-web-1.96 >/dev/null 2>&1; then
    apt-get update -qq
  fi
  rm -rf "$sbf/debs" "$toolchain.partial"
  mkdir -p "$sbf/debs"
  (cd "$sbf/debs" && apt-get download -qq "${packages[@]}")
  for deb in "$sbf"/debs/*.deb; do
    dpkg -x "$deb" "$toolchain.partial"
  done
  mv "$toolchain.partial" "$toolchain"
  rm -rf "$sbf/debs"
fi

if [ ! -x "$sbf/bin/sbpf-linker" ]; then
  cargo install sbpf-linker --version 0.1.9 --locked --root "$sbf"
fi

export PATH="$sbf/bin:$PATH"
# rustc-web and the linker both load the unpacked libLLVM.
export LD_LIBRARY_PATH="$toolchain/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export RUSTC="$toolchain/usr/bin/rustc"
unset RUSTC_WRAPPER CARGO_ENCODED_RUSTFLAGS
# --deploy=false: the linker would otherwise also copy the .so to ./target/deploy.
export RUSTFLAGS="-C linker=sbpf-linker -C link-arg=--llvm-args=-bpf-stack-size=4096 -C link-arg=--deploy=false -C relocation-model=static"
cargo build --release --locked --quiet \
  --manifest-path "$root/bench/sbf/Cargo.toml" \
  --target bpfel-unknown-none \
  --target-dir "$sbf/target"
echo "$sbf/target/bpfel-unknown-none/release/libperps_bench_sbf.so"
