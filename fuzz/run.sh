#!/usr/bin/env bash
# Runs one fuzz target for SECONDS: fuzz/run.sh TARGET SECONDS
# Installs cargo-fuzz if missing; exits non-zero when the target finds a crash. New inputs go to
# target/fuzz-corpus/TARGET; the committed seeds in fuzz/corpus/TARGET are only read.
set -euo pipefail
cd "$(dirname "$0")"

target="${1:?usage: fuzz/run.sh TARGET SECONDS (targets: $(ls fuzz_targets | sed 's/\.rs$//' | tr '\n' ' '))}"
seconds="${2:?usage: fuzz/run.sh TARGET SECONDS}"
[ -f "fuzz_targets/$target.rs" ] || { echo "no fuzz target $target" >&2; exit 2; }

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# cargo-fuzz needs nightly flags (-Zsanitizer); RUSTC_BOOTSTRAP lets the stable toolchain take them.
export RUSTC_BOOTSTRAP=1
work="target/fuzz-corpus/$target"
mkdir -p "$work" "corpus/$target"
cargo fuzz run "$target" "$work" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
