#!/usr/bin/env bash
# Benchmark: the whole `salesflow analyze` (every metric, segments, clusters, CLV, report,
# metrics.json, scored customers, target lists) on demo companies of increasing size.
# No peer does this job in one program, so it reports salesflow's own wall time and peak
# memory against the targets of issue 4: under 10 s at 100,000 customers and under 60 s at
# 1,000,000 on a 2-core machine.
#
#   bench/analyze/run.sh
#
# Environment overrides:
#   SIZES       customer counts to run                    (default "100000 1000000")
#   SALESFLOW   salesflow binary                          (default <repo>/target/release/salesflow)
#   DATA        folder for the generated companies        (default /work/bench-data/analyze)
#   RUNS        timed runs per size; the median is kept   (default 3)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SIZES="${SIZES:-100000 1000000}"
SALESFLOW="${SALESFLOW:-$REPO/target/release/salesflow}"
DATA="${DATA:-/work/bench-data/analyze}"
RUNS="${RUNS:-3}"
TIME=/usr/bin/time

die() { echo "error: $*" >&2; exit 1; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got '$RUNS')"
[[ -x "$TIME" ]] || die "$TIME not found: apt-get update && apt-get install -y time"
[[ -x "$SALESFLOW" ]] || die "salesflow binary not found at $SALESFLOW: \
build it with cargo build --release -p salesflow-cli   (or set SALESFLOW)"

printf '%-10s %10s %10s %8s %8s %10s %12s %10s\n' customers orders deals "wall s" target "peak MB" "analysis s" verdict
for n in $SIZES; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "SIZES holds '$n', not a customer count"
    company="$DATA/$n"
    if [[ ! -f "$company/parquet/orders.parquet" ]]; then
        # The full company (deals, spend, subscriptions, events); the demo also runs every
        # analysis once, which doubles as a warm-up.
        "$SALESFLOW" demo --customers "$n" --out "$company" --format parquet -q >/dev/null
    fi
    out="$(mktemp -d)"
    walls=()
    peak=0
    for _ in $(seq "$RUNS"); do
        log="$(mktemp)"
        SALESFLOW_TIMINGS=1 "$TIME" -f '%e %M' -o "$log.time" \
            "$SALESFLOW" analyze --data "$company/parquet" --out "$out" -q >/dev/null 2>"$log"
        read -r wall rss <"$log.time"
        walls+=("$wall")
        (( rss > peak )) && peak=$rss
        analysis=$(awk '/^analyze / && !/clv fits|outputs written/ {s += $(NF-1)} END {printf "%.2f", s}' "$log")
        rm -f "$log" "$log.time"
    done
    median=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    orders=$(python3 -c "import json,sys; print(json.load(open('$out/metrics.json'))['orders']['orders'])")
    deals=$(python3 -c "import json,sys; m=json.load(open('$out/metrics.json')); print(m['pipeline']['overall']['deals'] if m['pipeline'] else 0)")
    if (( n <= 100000 )); then target=10; else target=60; fi
    verdict=$(awk -v w="$median" -v t="$target" 'BEGIN {print (w < t) ? "met" : "NOT met"}')
    printf '%-10s %10s %10s %8s %8s %10d %12s %10s\n' "$n" "$orders" "$deals" "$median" "<$target" \
        $((peak / 1024)) "$analysis" "$verdict"
    rm -rf "$out"
done
echo "(wall: median of $RUNS runs, including reading the Parquet files and writing every output;"
echo " analysis: the analyze phases alone from SALESFLOW_TIMINGS, last run)"
