#!/usr/bin/env bash
# Runs every cargo-fuzz target for a while (default 120 s each) and stops at the first crash.
#
#   ./scripts/fuzz.sh                 all targets, 120 s each
#   ./scripts/fuzz.sh 600 syslog json one or more targets, 600 s each
#
# Needs the nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz
# (`cargo install cargo-fuzz`). Seeds come from the public corpora (fuzz/seed.sh copies a few
# hundred lines of each into fuzz/corpus/<target>/, which git ignores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
seconds="${1:-120}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <(cargo +nightly fuzz list)
./seed.sh
for t in "${targets[@]}"; do
    printf '\n==> fuzz %s for %ss\n' "$t" "$seconds"
    cargo +nightly fuzz run "$t" -- -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 2>&1 |
        grep -E '^(#[0-9]+ +DONE|INFO: Running|==[0-9]+==|SUMMARY|artifact_prefix|Done )' || true
    status=${PIPESTATUS[0]}
    [ "$status" -eq 0 ] || { echo "fuzz target $t failed (exit $status): see fuzz/artifacts/$t/"; exit "$status"; }
done
echo "all fuzz targets ran ${seconds}s without a crash: ${targets[*]}"
