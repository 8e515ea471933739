#!/usr/bin/env bash
# Builds the whole perps program (std, anchor-lang, the solana crates) for SBF (SBPF v0) without
# Solana's platform-tools, from Debian's packages and crates.io only, and prints the path of
# `perps.so` (in the folder to give as SBF_OUT_DIR). Everything goes under .sbf/ (gitignored;
# SBF_HOME moves it); nothing is installed system-wide.
#   .sbf/toolchain  Debian bookworm-security rustc-web + cargo-web 1.96 (LLVM 22) and rust-web-src,
#                   std patched for target_os = "solana" (sbf/patch_std.py); shared with bench/
#   .sbf/llvm23     Debian sid's libLLVM 23 and the sid glibc/libstdc++ it needs (GLIBC_2.38),
#                   used only inside the linker process, through sid's ld.so
#   .sbf/linker23   sbpf-linker 0.2.6 (crates.io) with sbf/sbpf-linker-stack-gap.patch
#   .sbf/target     the build;  .sbf/deploy/perps.so  the program
# rustc emits LLVM-22 bitcode (the target's obj-is-bitcode); sbpf-linker does the code generation
# with LLVM 23, whose BPF backend has stack arguments, libcalls and aggregate returns, and emits
# an SBPF v0 ELF. Usage: sbf/build.sh [--package <name>] [--manifest-path <Cargo.toml>]
# (defaults: perps, this repository); cargo's output goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
package=perps
manifest="$root/Cargo.toml"
while [ $# -gt 0 ]; do
  case "$1" in
    --package) package="$2"; shift 2 ;;
    --manifest-path) manifest="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
sbf="${SBF_HOME:-$root/.sbf}"
toolchain="$sbf/toolchain"
llvm23="$sbf/llvm23"
mkdir -p "$sbf"
say() { echo "sbf/build.sh: $*" >&2; }

# 1. rustc-web 1.96 with std's sources (build-std) and cargo. bench/build-sbf.sh unpacks a subset
#    of the same packages into the same folder: add whatever is missing.
packages=(rustc-web cargo-web libstd-rust-web-1.96 libstd-rust-web-dev libstd-rust-web-dev-bpf
  libllvm22 rust-web-src libgit2-1.5 libssh2-1 libhttp-parser2.9 libmbedtls14 libmbedx509-1
  libmbedcrypto7)
if [ ! -x "$toolchain/usr/bin/cargo" ] || [ ! -d "$toolchain/usr/lib/rustlib/src/rust/library" ]; then
  say "fetching the compiler (Debian bookworm-security rustc-web 1.96)"
  apt-cache show "${packages[@]}" >/dev/null 2>&1 || apt-get update -qq
  rm -rf "$sbf/debs"; mkdir -p "$sbf/debs"
  (cd "$sbf/debs" && apt-get download -qq "${packages[@]}" 2>&1 | grep -v unsandboxed >&2 || true)
  for deb in "$sbf"/debs/*.deb; do dpkg -x "$deb" "$toolchain"; done
  rm -rf "$sbf/debs"
fi
# Idempotent; build-std does not notice edited std sources, so a changed patch needs
# `rm -rf .sbf/target/bpfel-solana`.
python3 "$here/patch_std.py" "$toolchain/usr/lib/rustlib/src/rust/library" >&2

# 2. libLLVM 23 from Debian sid, through a private apt state (the system's lists are untouched).
if [ ! -e "$llvm23/usr/lib/x86_64-linux-gnu/libLLVM-23.so" ]; then
  say "fetching libLLVM 23 (Debian sid)"
  apt_dir="$sbf/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main" >"$apt_dir/sources.list"
  apt_private=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" -o Dir::State::status=/dev/null)
  apt-get "${apt_private[@]}" update -qq
  rm -rf "$sbf/debs23" "$llvm23.partial"; mkdir -p "$sbf/debs23"
  (cd "$sbf/debs23" && apt-get "${apt_private[@]}" download -qq libllvm23 libc6 libxml2-16 libz3-4 \
    libedit2 libstdc++6 libgcc-s1 libzstd1 libffi8 libbsd0 libmd0 libtinfo6 zlib1g 2>&1 | grep -v unsandboxed >&2 || true)
  for deb in "$sbf"/debs23/*.deb; do dpkg -x "$deb" "$llvm23.partial"; done
  mv "$llvm23.partial" "$llvm23"; rm -rf "$sbf/debs23"
fi

# 3. sbpf-linker 0.2.6, patched: outgoing stack arguments land one 4 KB gap higher, as agave maps
#    SBPF v0 stack frames with gaps (upstream assumes contiguous frames).
if [ ! -x "$sbf/linker23/bin/sbpf-linker" ]; then
  say "building sbpf-linker 0.2.6"
  rm -rf "$sbf/linker-src"; mkdir -p "$sbf/linker-src"
  curl -sSfL https://static.crates.io/crates/sbpf-linker/sbpf-linker-0.2.6.crate | tar xz -C "$sbf/linker-src"
  src="$sbf/linker-src/sbpf-linker-0.2.6"
  rm -f "$src/rust-toolchain.toml"
  printf '\n[workspace]\n' >>"$src/Cargo.toml"
  patch -s -p0 -d "$src" src/fuse_args_stack.rs <"$here/sbpf-linker-stack-gap.patch"
  cargo install --quiet --path "$src" --locked --root "$sbf/linker23"
fi

# The linker runs under sid's loader so that libLLVM 23 finds its glibc; aya-rustc-llvm-proxy
# looks for libLLVM in LD_LIBRARY_PATH.
cat >"$sbf/sbpf-linker-23" <<WRAP
#!/bin/sh
L="$llvm23/usr/lib/x86_64-linux-gnu"
export LD_LIBRARY_PATH="\$L" SBPF_STACK_GAP=4096
exec "\$L/ld-linux-x86-64.so.2" --library-path "\$L" "$sbf/linker23/bin/sbpf-linker" "\$@" \$SBPF_EXTRA
WRAP
chmod +x "$sbf/sbpf-linker-23"
cp "$here/bpfel-solana.json" "$sbf/bpfel-solana.json"

# 4. The program. lower-atomic: the program is single-threaded and SBPF v0 has no atomics.
export LD_LIBRARY_PATH="$toolchain/usr/lib/x86_64-linux-gnu"
export RUSTC="$toolchain/usr/bin/rustc" RUSTC_BOOTSTRAP=1
unset RUSTC_WRAPPER CARGO_ENCODED_RUSTFLAGS CARGO_TARGET_DIR
export RUSTFLAGS="-C linker=$sbf/sbpf-linker-23 -C link-arg=--arch=v0 -C link-arg=--llvm-args=-bpf-stack-size=4096 -C link-arg=--deploy=false -C relocation-model=static -C passes=lower-atomic"
"$toolchain/usr/bin/cargo" build --release --locked -p "$package" -Zjson-target-spec \
  -Zbuild-std=std,panic_abort --target "$sbf/bpfel-solana.json" --target-dir "$sbf/target" \
  --manifest-path "$manifest" >&2
mkdir -p "$sbf/deploy"
cp "$sbf/target/bpfel-solana/release/lib${package//-/_}.so" "$sbf/deploy/$package.so"
echo "$sbf/deploy/$package.so"
