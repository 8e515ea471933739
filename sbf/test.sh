#!/usr/bin/env bash
# The integration suite against the program as a cluster runs it: builds perps.so (sbf/build.sh,
# the toolchain fetched into .sbf/ on first use), runs every tests/tests/program case with
# solana-program-test loading the .so (SBF_OUT_DIR; the native processor is then not
# registered), prints the compute-unit cases, and summarises the compute units of every perps
# instruction the suite ran (.sbf/compute-units.tsv: instruction, accounts, CU, succeeded).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
so="$(bash "$root/sbf/build.sh")"
cd "$root"
export SBF_OUT_DIR="$(dirname "$so")" PERPS_CU_LOG="$root/.sbf/compute-units.tsv"
export RUST_LOG="${RUST_LOG:-error}"
rm -f "$PERPS_CU_LOG"
cargo test --locked -p perps-tests --test program
unset PERPS_CU_LOG
cargo test --locked -p perps-tests --test program compute_units -- --nocapture --test-threads 1 |
  grep -E ' CU|fit in'
python3 - "$root/.sbf/compute-units.tsv" <<'PY'
import collections, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, accounts, units, ok = line.rstrip("\n").split("\t")
    if ok == "true":
        runs[name].append((int(accounts), int(units)))
print(f"{'instruction (every successful run of the suite)':48} {'runs':>6} {'min':>8} {'median':>8} {'max':>8}")
for name, seen in sorted(runs.items()):
    units = sorted(u for _, u in seen)
    print(f"{name:48} {len(units):6} {units[0]:8} {units[len(units) // 2]:8} {units[-1]:8}")
for name in ("Adl", "RankAdlCandidates"):
    by_accounts = collections.defaultdict(list)
    for accounts, units in runs.get(name, []):
        by_accounts[accounts].append(units)
    print(name, "by accounts named: " + ", ".join(
        f"{a}: {min(u)}-{max(u)}" for a, u in sorted(by_accounts.items())))
PY
