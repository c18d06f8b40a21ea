#!/usr/bin/env bash
# The parsing, benchmark-2, correlation and `siem scan --threads` sections of the figures table.
#
# Sourced by benches/run.sh (which defines `figures`, $ROWS and SECTIONS; this file adds its
# sections to SECTIONS), or run on its own to print the rows:
#
#   benches/run-parse.sh                 # every section below, rows on stdout
#   benches/run-parse.sh scan_threads    # one section
#
# Rows are markdown table rows `| what | figure | unit | command |`. Criterion benches report
# their median throughput (the middle of criterion's `thrpt:` triple); scan_linux_web prints
# its own `FIGURE|` rows (siem and RSigma measured alternately in one process).
#
# scan_threads: generates the one million Sysmon-shaped events of benchmark 1
# (benches/src/bin/gen-sysmon.rs) and one million auth-log lines (benches/src/bin/gen-authlog.rs)
# into the target directory (never committed), then times `siem scan` over them with --threads 1
# and --threads 2 (interleaved, median of 3 wall times each, max RSS from /usr/bin/time -v).

PARSE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PARSE_TARGET="${CARGO_TARGET_DIR:-$PARSE_ROOT/target}"
: "${SIEM_CORPORA:=$PARSE_ROOT/../shared/corpora}"
export SIEM_CORPORA
PARSE_CRITERION_ARGS=(--warm-up-time 1 --measurement-time 5)

# Runs a criterion bench and turns each benchmark's median throughput into a row.
#   criterion_rows <bench> <unit> [filter]
criterion_rows() {
    local bench="$1" unit="$2"
    shift 2
    (cd "$PARSE_ROOT" && cargo bench -q -p siem-benches --bench "$bench" -- \
        "${PARSE_CRITERION_ARGS[@]}" "$@" 2>&1) | tee -a /dev/stderr | awk -v bench="$bench" -v unit="$unit" '
        # A benchmark name is on its own line, or before "time:" on the same line.
        /^[A-Za-z_].*\// && !/^(Benchmarking|Found|Warning|Gnuplot)/ {
            name = $0; sub(/ +time:.*/, "", name); sub(/ +$/, "", name)
        }
        /thrpt:/ && name != "" && !/change/ {
            gsub(/[\[\]]/, ""); 
            for (i = 1; i <= NF; i++) if ($i == "thrpt:") { v = $(i + 3); u = $(i + 4) }
            printf "| %s | %s %s | %s | `cargo bench -p siem-benches --bench %s` |\n", name, v, u, unit, bench
            name = ""
        }'
}

# Appends rows to $ROWS under run.sh, prints them otherwise.
parse_emit() {
    if [ -n "${ROWS:-}" ]; then cat >>"$ROWS"; else cat; fi
}

section_parse() {
    criterion_rows parse_syslog "lines/s per core" | parse_emit
    # Every other parser (the yardsticks, which parse nothing, left out).
    criterion_rows parse_formats "lines/s per core" '^parse/' | parse_emit
}

section_linux_web() {
    (cd "$PARSE_ROOT" && cargo bench -q -p siem-benches --bench scan_linux_web -- \
        "${PARSE_CRITERION_ARGS[@]}" 2>&1) | tee -a /dev/stderr | sed -n 's/^FIGURE|/|/p' | parse_emit
}

section_correlate() {
    criterion_rows correlate "updates/s per core" | parse_emit
    (cd "$PARSE_ROOT" && cargo bench -q -p siem-benches --bench correlate -- --list 2>&1) |
        sed -n -e 's/^event_count gte 5: .*, \([0-9.]*\) bytes\/group allocated.*/| event_count bytes per group (1M groups) | \1 | bytes | `cargo bench -p siem-benches --bench correlate` |/p' \
            -e 's/^engine defaults: .*, \([0-9.]*\) bytes\/group allocated.*/| the same through the `Engine` with its defaults, one detection per group (sampled events included, within the default 64 MiB budget of sampled bytes) | \1 | bytes | `cargo bench -p siem-benches --bench correlate` |/p' |
        parse_emit
}

# Median of the numbers on stdin.
parse_median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

section_scan_threads() {
    (cd "$PARSE_ROOT" && cargo build -q --release -p siem-cli -p siem-benches \
        --bin siem --bin gen-authlog --bin gen-sysmon) || return 1
    local bin="$PARSE_TARGET/release" auth="$PARSE_TARGET/auth-1m.log"
    local sysmon="$PARSE_TARGET/sysmon-1m.jsonl"
    [ -s "$auth" ] || "$bin/gen-authlog" "$auth" 1000000
    [ -s "$sysmon" ] || "$bin/gen-sysmon" "$sysmon" 1000000
    local common=(scan --reference-time 2024-12-31T00:00:00Z -o jsonl)
    scan_threads_case "1M Sysmon events (all 3,141 SigmaHQ rules/)" "$sysmon" \
        "${common[@]}" --rules "$SIEM_CORPORA/sigma/rules"
    scan_threads_case "1M auth lines (sigmahq_linux)" "$auth" \
        "${common[@]}" --rules "$SIEM_CORPORA/sigma/rules/linux"
    scan_threads_case "1M auth lines (with_correlations)" "$auth" \
        "${common[@]}" --rules "$SIEM_CORPORA/sigma/rules/linux" --rules "$PARSE_ROOT/examples/rules"
}

# Times `siem ARGS --threads 1|2 INPUT`, interleaved, median of 3 wall times each, checks that
# both outputs are identical, and emits the rows.
#   scan_threads_case <label> <input> <siem args...>
scan_threads_case() {
    local label="$1" input="$2"
    shift 2
    local bin="$PARSE_TARGET/release" t1=() t2=() rss1=0 rss2=0 alerts=""
    for _ in 1 2 3; do
        for threads in 1 2; do
            local tv wall rss
            tv="$(mktemp)"
            /usr/bin/time -v "$bin/siem" "$@" --threads "$threads" "$input" >"$tv.out" 2>"$tv"
            wall="$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tv" |
                awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')"
            rss="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tv")"
            if [ "$threads" = 1 ]; then
                t1+=("$wall"); [ "$rss" -gt "$rss1" ] && rss1="$rss"
                alerts="$(wc -l <"$tv.out")"
                cp "$tv.out" "$PARSE_TARGET/scan-threads1.jsonl"
            else
                t2+=("$wall"); [ "$rss" -gt "$rss2" ] && rss2="$rss"
                cmp -s "$tv.out" "$PARSE_TARGET/scan-threads1.jsonl" ||
                    echo "scan_threads: --threads 2 output differs from --threads 1 ($label)" >&2
            fi
            rm -f "$tv" "$tv.out"
        done
    done
    local m1 m2 cmd="\`benches/run-parse.sh scan_threads\`"
    m1="$(printf '%s\n' "${t1[@]}" | parse_median)"
    m2="$(printf '%s\n' "${t2[@]}" | parse_median)"
    {
        echo "| siem scan $label, $alerts alerts, --threads 1 | $m1 | s wall | $cmd |"
        echo "| siem scan $label, --threads 2 | $m2 | s wall | $cmd |"
        echo "| siem scan $label, speedup 2 threads vs 1 | $(awk -v a="$m1" -v b="$m2" 'BEGIN { printf "%.2f", a / b }') | x | $cmd |"
        echo "| siem scan $label, max RSS 1 / 2 threads | $((rss1 / 1024)) / $((rss2 / 1024)) | MiB | $cmd |"
    } | parse_emit
}

PARSE_SECTIONS=(parse linux_web correlate scan_threads)

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    wanted=("$@")
    [ ${#wanted[@]} -eq 0 ] && wanted=("${PARSE_SECTIONS[@]}")
    echo "| what | figure | unit | command |"
    echo "|------|--------|------|---------|"
    for s in "${wanted[@]}"; do
        "section_$s"
    done
else
    SECTIONS+=("${PARSE_SECTIONS[@]}")
fi
