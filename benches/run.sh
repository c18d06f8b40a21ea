#!/usr/bin/env bash
# Runs siem's benchmarks and writes the figures table to docs/performance.md.
#
#   benches/run.sh            # every section
#   benches/run.sh match load # only these sections (the others keep no rows)
#
# Each section is one function `section_<name>` that runs its bench and appends markdown table
# rows (`| what | figure | unit | command |`) to "$ROWS". Benches print the rows they measure
# on lines starting with `FIGURE|`; `figures` extracts them. Add a section by adding a
# function and its name to SECTIONS.
#
# Short criterion runs (the machine is shared): --warm-up-time 1 --measurement-time 5.
# Corpora: $SIEM_CORPORA (default ../shared/corpora beside the checkout, see testkit).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export SIEM_CORPORA="${SIEM_CORPORA:-$ROOT/../shared/corpora}"
CRITERION_ARGS=(--warm-up-time 1 --measurement-time 5)
OUT="$ROOT/docs/performance.md"
ROWS="$(mktemp)"
trap 'rm -f "$ROWS" "$ROWS.log"' EXIT

# Runs a bench and keeps its `FIGURE|` lines as table rows.
#   figures <bench> [criterion filter]
figures() {
    local bench="$1"
    shift
    # `tee` to its own stdout sent to stderr: `tee /dev/stderr` would reopen (and truncate) a
    # log file stderr points to.
    cargo bench -q -p siem-benches --bench "$bench" -- "${CRITERION_ARGS[@]}" "$@" 2>&1 |
        tee -a "$ROWS.log" >&2
    sed -n 's/^FIGURE|/|/p' "$ROWS.log" >>"$ROWS"
    rm -f "$ROWS.log"
}

# Benchmark 1: all SigmaHQ rules over the 26,365 Windows events, siem vs RSigma.
section_match() {
    figures scan_windows scan_windows/
}

# Benchmark 1: one million generated Sysmon-shaped events, siem vs RSigma.
section_sysmon() {
    figures sysmon_1m
}

# Benchmark 3: rule loading, time and resident memory, siem vs RSigma (a separate process
# per engine so each one's memory is its own).
section_load() {
    cargo build -q --release -p siem-benches --example rule_load
    local bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/rule_load"
    local engine
    for engine in siem rsigma; do
        "$bin" "$engine" | tee -a "$ROWS.log" >&2
    done
    sed -n 's/^FIGURE|/|/p' "$ROWS.log" >>"$ROWS"
    rm -f "$ROWS.log"
}

SECTIONS=(match sysmon load)
# Parsing, benchmark 2, correlation and `siem scan --threads` (adds its sections to SECTIONS).
source "$ROOT/benches/run-parse.sh"

main() {
    local wanted=("$@")
    [ ${#wanted[@]} -eq 0 ] && wanted=("${SECTIONS[@]}")
    for s in "${wanted[@]}"; do
        "section_$s"
    done
    local model
    model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    {
        echo "# Performance"
        echo
        echo "Written by \`benches/run.sh\` on $(date -u +%Y-%m-%d) on a machine with $(nproc)"
        echo "cores ($model), Rust $(rustc --version | cut -d' ' -f2). Throughput is single-threaded unless a row says otherwise;"
        echo "rates are medians of interleaved runs in one process (siem and the other engine"
        echo "measured alternately, so load from other processes hits both alike)."
        echo
        echo "| what | figure | unit | command |"
        echo "|------|--------|------|---------|"
        cat "$ROWS"
    } >"$OUT"
    echo "wrote $OUT"
}

main "$@"
