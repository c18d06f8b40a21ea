#!/usr/bin/env bash
# Runs siem's benchmarks and writes the figures table to docs/performance.md.
#
#   benches/run.sh            # every section
#   benches/run.sh match load # only these sections (the others keep their previous figures)
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
trap 'rm -f "$ROWS" "$ROWS".*' EXIT

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

# Titles of the sections' tables, in the order they appear.
declare -A TITLES=(
    [match]="Benchmark 1: SigmaHQ rules over the Windows corpus, siem vs RSigma"
    [sysmon]="Benchmark 1: one million generated Sysmon-shaped events, siem vs RSigma"
    [load]="Benchmark 3: loading all SigmaHQ rules, time and memory, siem vs RSigma"
    [parse]="Parsers (issue 2), lines per second per core"
    [linux_web]="Benchmark 2: Linux auth and Apache lines, parsing included, siem vs RSigma"
    [correlate]="Correlation (issue 4): updates per second and bytes per group"
    [scan_threads]="Whole program: siem scan on 1 and 2 threads"
)

# The block of one section in a figures document: from its marker to the next one.
#   old_block <file> <section>
old_block() {
    [ -f "$1" ] || return 0
    awk -v s="<!-- section: $2 -->" '
        $0 == s { on = 1; next }
        /^<!-- section: / { on = 0 }
        /^<!-- figures end -->/ { on = 0 }
        on' "$1"
}

# The tables of every section: fresh rows for the sections that ran, the previous block
# (with its own date) for the others, so one section can be re-measured alone.
#   tables <previous document>
tables() {
    local previous="$1" model s
    model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    for s in "${SECTIONS[@]}"; do
        if [ -f "$ROWS.$s" ]; then
            echo "<!-- section: $s -->"
            echo "### ${TITLES[$s]:-$s}"
            echo
            echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($model), Rust $(rustc --version | cut -d' ' -f2)."
            echo
            echo "| what | figure | unit | command |"
            echo "|------|--------|------|---------|"
            cat "$ROWS.$s"
            echo
        else
            local block
            block="$(old_block "$previous" "$s")"
            [ -n "$block" ] && printf '<!-- section: %s -->\n%s\n\n' "$s" "$block"
        fi
    done
}

main() {
    local wanted=("$@")
    [ ${#wanted[@]} -eq 0 ] && wanted=("${SECTIONS[@]}")
    for s in "${wanted[@]}"; do
        : >"$ROWS"
        "section_$s"
        cp "$ROWS" "$ROWS.$s"
    done
    local body
    body="$(tables "$OUT")"
    {
        echo "# Performance"
        echo
        echo "Written by \`benches/run.sh\` (\`benches/run.sh SECTION...\` re-measures some sections"
        echo "and keeps the others). Throughput is single-threaded unless a row says otherwise;"
        echo "siem and the other engine are measured alternately in one process, so load from other"
        echo "processes hits both alike: read the ratios. Method and what bounds each figure:"
        echo "[performance-matching.md](performance-matching.md), [performance-parse.md](performance-parse.md)."
        echo
        echo "<!-- figures begin -->"
        echo "$body"
        echo "<!-- figures end -->"
    } >"$OUT"
    # The same tables in the top README, between its markers.
    local readme="$ROOT/README.md"
    if grep -q '^<!-- figures begin -->' "$readme"; then
        local tmp
        tmp="$(mktemp)"
        awk -v body="$OUT" '
            /^<!-- figures begin -->/ { print; while ((getline l < body) > 0) if (l ~ /^<!-- section|^###|^$|^\||^Measured/ && !(l ~ /^<!-- figures/)) print l; skip = 1; next }
            /^<!-- figures end -->/ { skip = 0 }
            !skip' "$readme" >"$tmp" && mv "$tmp" "$readme"
    fi
    rm -f "$ROWS".*
    echo "wrote $OUT and the README's figures"
}

main "$@"
