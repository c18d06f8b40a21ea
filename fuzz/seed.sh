#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the public corpora (../shared/corpora or $SIEM_CORPORA): a few
# hundred real lines per format, one per file, so libFuzzer starts from realistic input. The seeds
# stay out of git (fuzz/corpus is ignored); run again any time, existing seeds are kept.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
corpora="${SIEM_CORPORA:-../../shared/corpora}"
[ -d "$corpora/loghub" ] || { echo "fuzz/seed.sh: corpora not found at $corpora (set SIEM_CORPORA)" >&2; exit 1; }

# seed TARGET COUNT FILE...: the first COUNT lines of the files, one seed file per line.
seed() {
    local target=$1 count=$2
    shift 2
    mkdir -p "corpus/$target"
    local n=0
    for f in "$@"; do
        [ -f "$f" ] || continue
        while IFS= read -r line && [ $n -lt "$count" ]; do
            n=$((n + 1))
            printf '%s' "$line" >"corpus/$target/seed-$n"
        done <"$f"
    done
}
c=$corpora
seed syslog 300 "$c/loghub/Linux/Linux_2k.log" "$c/loghub/OpenSSH/OpenSSH_2k.log"
seed programs 300 "$c/loghub/OpenSSH/OpenSSH_2k.log" "$c/loghub/Linux/Linux_2k.log"
seed lines 50 "$c/loghub/Apache/Apache_2k.log"
seed access 300 "$c/loghub/Apache/Apache_2k.log" "$c"/crowdsec-hub/tests/nginx-logs/*.log
seed json 200 "$c"/windows-evtx-json/deepbluecli/evtx/*.jsonl
seed parser 400 "$c/loghub/OpenSSH/OpenSSH_2k.log" "$c/loghub/Apache/Apache_2k.log" \
    "$c"/windows-evtx-json/deepbluecli/evtx/many-events-application.jsonl \
    "$c"/crowdsec-hub/tests/iptables-logs/iptables-logs.log
seed kv 200 "$c"/crowdsec-hub/tests/iptables-*/*.log
# The corpora have no CEF or LEEF: a few lines in the shapes of the formats' specifications.
mkdir -p corpus/cef corpus/leef
printf '%s' 'CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232' >corpus/cef/spec-1
printf '%s' 'Sep 19 08:26:10 host CEF:0|Vendor|Prod\|uct|1.2|4000|Name with \\ backslash|Medium|msg=a\=b act=blocked cs1Label=x cs1=y rt=Sep 19 2023 08:26:10' >corpus/cef/spec-2
printf 'LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tusrName=joe' >corpus/leef/spec-1
printf '%s' 'LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^devTime=Sep 19 2023 08:26:10.123 UTC' >corpus/leef/spec-2
seed grok 50 "$c/loghub/Apache/Apache_2k.log"
# Rules: whole files.
mkdir -p corpus/sigma_compile
find "$c/sigma/rules/linux" "$c/sigma/rules/web" -name '*.yml' | head -300 | while read -r f; do
    cp -n "$f" "corpus/sigma_compile/$(basename "$f")"
done
echo "fuzz/seed.sh: seeds in fuzz/corpus/ ($(find corpus -type f | wc -l) files)"
