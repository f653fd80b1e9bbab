#!/usr/bin/env bash
# One fuzzing session of the SMPP codec, set up by itself: cargo-fuzz is
# installed once under target/tmp/cargo-fuzz (not into ~/.cargo), the seed
# corpus written, libFuzzer run for FUZZ_SECONDS (default 300), and the
# new inputs worth keeping promoted into corpus_regressions/. Needs a
# nightly toolchain (libFuzzer's sanitizer flags); without one it stops
# with one line saying so.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TOOLS=$ROOT/target/tmp/cargo-fuzz
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: needs a nightly Rust toolchain (rustup toolchain install nightly); none here" >&2
    exit 1
fi
if [ ! -x "$TOOLS/bin/cargo-fuzz" ]; then
    cargo install --locked --root "$TOOLS" cargo-fuzz
fi
export PATH=$TOOLS/bin:$PATH
cargo test --test codec_regressions -- --ignored write_seed_corpus
(cd fuzz && cargo +nightly fuzz run decode corpus/decode corpus_regressions \
    -- -dict=decode.dict -max_len=2048 -max_total_time="${FUZZ_SECONDS:-300}")
cargo test --release --test codec_regressions -- --ignored promote_from_fuzz_corpus
