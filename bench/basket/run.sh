#!/usr/bin/env bash
# Benchmark: market-basket analysis (basket file -> frequent itemsets -> association rules) in
# salesflow vs mlxtend on the same baskets, at several minimum supports. See README.md beside
# this file.
#
#   bench/basket/run.sh
#
# Environment overrides:
#   SALESFLOW      salesflow binary                      (default <repo>/target/release/salesflow)
#   BASKETS        basket file, one basket a line        (default the online-retail fixture,
#                  crates/salesflow-models/tests/fixtures/basket/online-retail.txt)
#   SUPPORTS       minimum supports, space-separated     (default "0.02 0.01 0.005")
#   METRIC         rule metric                           (default confidence)
#   MIN_THRESHOLD  smallest metric value kept            (default 0.5)
#   RUNS           timed runs per tool and support; median (default 3)
#   VENV           virtualenv with mlxtend               (default /work/venv-basket)
#   MLXTEND_SPARSE 1 = mlxtend gets a sparse one-hot DataFrame (TransactionEncoder
#                  transform(sparse=True)), faster for it here; default 0 = the dense
#                  DataFrame of mlxtend's user guide
#   KEEP           1 = keep the output directory
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SALESFLOW="${SALESFLOW:-$REPO/target/release/salesflow}"
BASKETS="${BASKETS:-$REPO/crates/salesflow-models/tests/fixtures/basket/online-retail.txt}"
SUPPORTS="${SUPPORTS:-0.02 0.01 0.005}"
METRIC="${METRIC:-confidence}"
MIN_THRESHOLD="${MIN_THRESHOLD:-0.5}"
RUNS="${RUNS:-3}"
VENV="${VENV:-/work/venv-basket}"
KEEP="${KEEP:-0}"
MLXTEND_SPARSE="${MLXTEND_SPARSE:-0}"
TARGET=20
PY="$VENV/bin/python"
TIME=/usr/bin/time

die() { echo "error: $*" >&2; exit 1; }

# ---- preconditions -----------------------------------------------------------------
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got '$RUNS')"
read -r -a SUPS <<< "$SUPPORTS"
[[ ${#SUPS[@]} -gt 0 ]] || die "SUPPORTS is empty"
for s in "${SUPS[@]}" "$MIN_THRESHOLD"; do
    [[ "$s" =~ ^(0|[1-9][0-9]*)?(\.[0-9]+)?([eE][-+]?[0-9]+)?$ && "$s" =~ [0-9] ]] \
        || die "not a number: '$s' (SUPPORTS, MIN_THRESHOLD)"
done
[[ "$MLXTEND_SPARSE" == 0 || "$MLXTEND_SPARSE" == 1 ]] \
    || die "MLXTEND_SPARSE must be 0 or 1 (got '$MLXTEND_SPARSE')"
MX_ARGS=(--metric "$METRIC" --min-threshold "$MIN_THRESHOLD")
[[ "$MLXTEND_SPARSE" == 0 ]] || MX_ARGS+=(--sparse)
[[ -x "$TIME" ]] || die "$TIME not found: apt-get update && apt-get install -y time"
[[ -f "$BASKETS" ]] || die "no basket file at $BASKETS (set BASKETS)"
[[ -x "$PY" ]] && "$PY" -c 'import mlxtend' 2>/dev/null || die "no mlxtend in $VENV: \
python3 -m venv $VENV && $VENV/bin/pip install mlxtend==0.25.0 pandas numpy scipy   (or set VENV)"
[[ -x "$SALESFLOW" ]] || die "salesflow binary not found at $SALESFLOW: \
build it with cargo build --release -p salesflow-cli   (or set SALESFLOW)"
"$SALESFLOW" basket --help >/dev/null 2>&1 || die "$SALESFLOW has no 'basket' command: \
rebuild it with cargo build --release -p salesflow-cli"

OUT="$(mktemp -d "${TMPDIR:-/tmp}/salesflow-bench-basket.XXXXXX")"
if [[ "$KEEP" == 1 ]]; then
    echo "outputs kept in $OUT"
else
    trap 'rm -rf "$OUT"' EXIT
fi

# ---- measuring ---------------------------------------------------------------------
# run_one OUTFILE LOG CMD...: runs CMD as its own process under /usr/bin/time, stdout to
# OUTFILE, stderr to LOG; sets WALL (s) and RSS_KB (its "Maximum resident set size"). Both
# tools are measured exactly this way; a failure ends the benchmark.
run_one() {
    local outfile="$1" log="$2"; shift 2
    local t0 t1
    t0=$(date +%s%N)
    if ! "$TIME" -f '%M' -o "$log.time" "$@" >"$outfile" 2>"$log"; then
        echo "error: command failed: $*" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
    t1=$(date +%s%N)
    WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    RSS_KB=$(tail -n 1 "$log.time")
}

median() { # values as arguments
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

echo "salesflow basket benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores," \
     "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "mlxtend: $("$PY" -c 'import mlxtend, numpy, pandas, sys
print(f"mlxtend {mlxtend.__version__}, pandas {pandas.__version__}, numpy {numpy.__version__}, "
      f"Python {sys.version.split()[0]}")') ($VENV);" \
     "one-hot: $([[ "$MLXTEND_SPARSE" == 1 ]] && echo sparse || echo dense) DataFrame"
echo "salesflow: $SALESFLOW ($("$SALESFLOW" --version 2>/dev/null || echo 'version unknown'))"
echo "input: $BASKETS ($(wc -l < "$BASKETS") lines, $(du -k "$BASKETS" | cut -f1) KB);" \
     "rules: $METRIC >= $MIN_THRESHOLD; $RUNS runs each, median"
load1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
    echo "warning: the machine is busy (load $load1): timings will be noisy" >&2
fi

# ---- runs --------------------------------------------------------------------------
declare -A RES
ok=1
CHECKS=()
for s in "${SUPS[@]}"; do
    cat "$BASKETS" > /dev/null   # same warm page cache for both tools
    sf_w=(); sf_m=(); mx_w=(); mx_m=()
    for ((i = 1; i <= RUNS; i++)); do
        run_one "$OUT/sf_$s.json" "$OUT/sf_$s.err" "$SALESFLOW" -q basket --baskets "$BASKETS" \
            --min-support "$s" --metric "$METRIC" --min-threshold "$MIN_THRESHOLD" --json
        sf_w+=("$WALL"); sf_m+=("$RSS_KB")
        [[ -s "$OUT/sf_$s.json" ]] || die "salesflow printed no JSON (support $s)"
        rm -f "$OUT/mx_$s.json"
        run_one /dev/null "$OUT/mx_$s.err" "$PY" "$HERE/mlxtend_side.py" "$BASKETS" "$s" \
            "$OUT/mx_$s.json" "${MX_ARGS[@]}"
        mx_w+=("$WALL"); mx_m+=("$RSS_KB")
        [[ -s "$OUT/mx_$s.json" ]] || die "mlxtend_side.py wrote no $OUT/mx_$s.json"
        echo "  support $s run $i: salesflow ${sf_w[-1]} s, mlxtend ${mx_w[-1]} s" >&2
    done
    RES[$s.sf_w]=$(median "${sf_w[@]}"); RES[$s.sf_m]=$(median "${sf_m[@]}")
    RES[$s.mx_w]=$(median "${mx_w[@]}"); RES[$s.mx_m]=$(median "${mx_m[@]}")
    read -r RES[$s.n_is] RES[$s.n_r] < <("$PY" -c 'import json, sys
d = json.load(open(sys.argv[1])); print(len(d["itemsets"]), len(d["rules"]))' "$OUT/sf_$s.json")
    # outputs of the last run must agree
    if check=$("$PY" "$HERE/compare_basket.py" "$OUT/sf_$s.json" "$OUT/mx_$s.json" \
        "support $s"); then
        RES[$s.check]=PASS
    else
        RES[$s.check]=FAIL; ok=0
    fi
    CHECKS+=("$check")
    RES[$s.steps]=$(awk '/^step / { printf "%s%s %s", sep, $2, $3; sep = ", " }' "$OUT/mx_$s.err")
done

# ---- results -----------------------------------------------------------------------
echo
fmt='%-8s %9s %7s %12s %10s %9s %13s %11s %6s\n'
printf "$fmt" support itemsets rules "salesflow s" "mlxtend s" speed-up "salesflow MB" "mlxtend MB" check
met=1
for s in "${SUPS[@]}"; do
    speed=$(awk -v a="${RES[$s.mx_w]}" -v b="${RES[$s.sf_w]}" 'BEGIN { printf "%.1fx", a / b }')
    awk -v a="${RES[$s.mx_w]}" -v b="${RES[$s.sf_w]}" -v t="$TARGET" 'BEGIN { exit !(a / b >= t) }' \
        || met=0
    printf "$fmt" "$s" "${RES[$s.n_is]}" "${RES[$s.n_r]}" "${RES[$s.sf_w]}" "${RES[$s.mx_w]}" \
        "$speed" "$(mb "${RES[$s.sf_m]}")" "$(mb "${RES[$s.mx_m]}")" "${RES[$s.check]}"
done
echo "wall time and peak RSS (median) of each tool as a separate process, from the basket file"
echo "to the rules as JSON; speed-up = mlxtend / salesflow. mlxtend's time includes Python"
echo "start-up and imports (pandas, mlxtend); salesflow's run also finds bundles and cross-sell."
if [[ "$met" == 1 ]]; then verdict=met; else verdict="NOT met"; fi
[[ "$ok" == 1 ]] || verdict="NOT met (outputs differ)"
echo "target: >= ${TARGET}x at every support with identical output: $verdict"
for s in "${SUPS[@]}"; do
    echo "mlxtend in-process steps in s (last run, support $s): ${RES[$s.steps]}"
done

# ---- outputs must agree ------------------------------------------------------------
echo
printf '%s\n' "${CHECKS[@]}"
if [[ "$ok" != 1 ]]; then
    echo "FAIL: outputs disagree (rerun with KEEP=1 to inspect them)" >&2
    exit 1
fi
echo "OK: outputs agree (itemsets, counts, supports, rules and every metric within 1e-9 relative)"
