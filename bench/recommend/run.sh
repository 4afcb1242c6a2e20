#!/usr/bin/env bash
# Benchmark: implicit-feedback ALS (Hu, Koren & Volinsky; conjugate-gradient solver) in salesflow
# vs the Python package implicit (CPU), on the same purchase matrix with the same factors,
# regularisation, alpha, sweeps and CG steps: the fit time and precision@10 on a time-based
# holdout. See README.md beside this file.
#
#   bench/recommend/run.sh
#
# Environment overrides:
#   SALESFLOW       salesflow binary                     (default <repo>/target/release/salesflow)
#   DATA            data directory (DATA/csv), generated only if missing
#                                                        (default /work/bench-data/recommend)
#   CUSTOMERS       customers in the generated data      (default 230000: ~1.0 M order lines)
#   FACTORS         latent factors, one row each, space-separated (default "64 16")
#   REGULARIZATION  L2 penalty                           (default 0.01)
#   ALPHA           confidence slope, c = 1 + alpha x purchases (default 1.0)
#   ITERATIONS      ALS sweeps                           (default 15)
#   HOLDOUT         first day of the holdout, YYYY-MM-DD (default salesflow's: the day by which
#                   90 % of purchases had happened, computed by prepare.py and passed to both)
#   RUNS            timed runs per tool and setting; median (default 3)
#   VENV            virtualenv with implicit             (default /work/venv-basket)
#   WARM_CHECK      1 = also run salesflow once per setting on a copy of the data without the
#                   holdout orders of customers who bought nothing before it, to compare P@10
#                   on customers with a training purchase (default 1)
#   KEEP            1 = keep the output directory
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SALESFLOW="${SALESFLOW:-$REPO/target/release/salesflow}"
DATA="${DATA:-/work/bench-data/recommend}"
CUSTOMERS="${CUSTOMERS:-230000}"
FACTORS="${FACTORS:-64 16}"
REGULARIZATION="${REGULARIZATION:-0.01}"
ALPHA="${ALPHA:-1.0}"
ITERATIONS="${ITERATIONS:-15}"
HOLDOUT="${HOLDOUT:-}"
RUNS="${RUNS:-3}"
VENV="${VENV:-/work/venv-basket}"
WARM_CHECK="${WARM_CHECK:-1}"
KEEP="${KEEP:-0}"
SEED=21
K=10
PY="$VENV/bin/python"

die() { echo "error: $*" >&2; exit 1; }

# ---- preconditions -----------------------------------------------------------------
for v in RUNS CUSTOMERS ITERATIONS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
read -r -a FS <<< "$FACTORS"
[[ ${#FS[@]} -gt 0 ]] || die "FACTORS is empty"
for f in "${FS[@]}"; do
    [[ "$f" =~ ^[1-9][0-9]*$ ]] || die "FACTORS must be positive integers (got '$f')"
done
for v in REGULARIZATION ALPHA; do
    [[ "${!v}" =~ ^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$ ]] || die "$v must be a number (got '${!v}')"
done
[[ -z "$HOLDOUT" || "$HOLDOUT" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] \
    || die "HOLDOUT must be YYYY-MM-DD (got '$HOLDOUT')"
[[ "$WARM_CHECK" == 0 || "$WARM_CHECK" == 1 ]] || die "WARM_CHECK must be 0 or 1"
[[ -x "$PY" ]] && "$PY" -c 'import implicit, scipy, pandas, threadpoolctl' 2>/dev/null \
    || die "no implicit in $VENV: python3 -m venv $VENV && $VENV/bin/pip install implicit==0.7.3 \
pandas scipy numpy   (or set VENV)"
[[ -x "$SALESFLOW" ]] || die "salesflow binary not found at $SALESFLOW: \
build it with cargo build --release -p salesflow-cli   (or set SALESFLOW)"

CSV="$DATA/csv"

OUT="$(mktemp -d "${TMPDIR:-/tmp}/salesflow-bench-recommend.XXXXXX")"
if [[ "$KEEP" == 1 ]]; then
    echo "outputs kept in $OUT"
else
    trap 'rm -rf "$OUT"' EXIT
fi

# sf CMD-ARGS...: runs salesflow, retrying (up to 5 times, 15 s apart) when the binary cannot
# be started because it is being rebuilt (exit 126/127, or no binary for a moment). stdout and
# stderr to $SF_LOG.out / $SF_LOG.err; RC = exit status.
sf() {
    local try
    for try in 1 2 3 4 5; do
        if [[ -x "$SALESFLOW" ]]; then
            if SALESFLOW_TIMINGS=1 "$SALESFLOW" "$@" >"$SF_LOG.out" 2>"$SF_LOG.err"; then
                RC=0; return
            else
                RC=$?
            fi
            [[ "$RC" == 126 || "$RC" == 127 ]] || return
        fi
        echo "  salesflow could not start (being rebuilt?); retrying in 15 s" >&2
        sleep 15
    done
}
binary_id() { stat -c '%Y %s' "$SALESFLOW" 2>/dev/null || echo missing; }

# ---- data (generated once, outside the repository) ---------------------------------
if [[ ! -f "$CSV/orders.csv" || ! -f "$CSV/order_lines.csv" ]]; then
    echo "generating $CUSTOMERS customers' company into $DATA ..."
    mkdir -p "$DATA"
    SF_LOG="$OUT/demo"
    sf -q demo --customers "$CUSTOMERS" --seed "$SEED" --out "$DATA" --format csv
    [[ "$RC" == 0 ]] || { tail -n 20 "$SF_LOG.err" >&2; die "salesflow demo failed (exit $RC)"; }
    [[ -f "$CSV/order_lines.csv" ]] || die "salesflow demo did not write $CSV/order_lines.csv"
    echo "customers=$CUSTOMERS seed=$SEED" > "$DATA/GENERATED"
elif [[ -f "$DATA/GENERATED" ]] && ! grep -qx "customers=$CUSTOMERS seed=$SEED" "$DATA/GENERATED"; then
    echo "note: $DATA holds existing data ($(cat "$DATA/GENERATED")), not regenerated for" \
         "CUSTOMERS=$CUSTOMERS; delete it or set DATA to regenerate" >&2
fi

# ---- the matrices for implicit, built as salesflow builds them (not timed) ----------
prep_args=("$CSV" "$OUT/prep")
[[ -z "$HOLDOUT" ]] || prep_args+=(--holdout-from "$HOLDOUT")
[[ "$WARM_CHECK" != 1 ]] || prep_args+=(--warm-dir "$OUT/warm/csv")
"$PY" "$HERE/prepare.py" "${prep_args[@]}" > "$OUT/prep.log" || die "prepare.py failed"
meta() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$OUT/prep/meta.json" "$1"; }
HOLDOUT=$(meta holdout_from)
TRAIN_PAIRS=$(meta train_pairs); USERS=$(meta customers); ITEMS=$(meta products)
EVALUATED=$(meta evaluated_users); COLD=$(meta evaluated_users_without_training_purchases)

echo "salesflow recommend (ALS) benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores," \
     "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "implicit: $("$PY" -c 'import implicit, numpy, scipy, pandas, sys
print(f"implicit {implicit.__version__} (CPU, num_threads=0), numpy {numpy.__version__}, "
      f"scipy {scipy.__version__}, pandas {pandas.__version__}, Python {sys.version.split()[0]}")') ($VENV)"
echo "salesflow: $SALESFLOW ($("$SALESFLOW" --version 2>/dev/null || echo 'version unknown'))"
echo "input: $CSV: $(meta orders) orders, $(meta purchases) purchases of $(meta buyers) customers" \
     "($USERS customers known) of $ITEMS products"
echo "holdout from $HOLDOUT: $(meta train_purchases) training purchases ($TRAIN_PAIRS customer x" \
     "product pairs), $(meta test_purchases) test ($("$PY" -c "print(f'{$(meta test_share) * 100:.1f}')") %);" \
     "$EVALUATED customers evaluated ($COLD of them without a training purchase)"
echo "ALS: regularization $REGULARIZATION, alpha $ALPHA, $ITERATIONS iterations, 3 CG steps," \
     "float32; factors: ${FS[*]}; $RUNS runs each, median"
load1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
    echo "warning: the machine is busy (load $load1): timings will be noisy" >&2
fi
BIN0=$(binary_id)

median() { # values as arguments
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# jget FILE EXPR: a value from a JSON file (EXPR in Python over d)
jget() { "$PY" -c "import json, sys; d = json.load(open(sys.argv[1])); print($2)" "$1"; }
ALS_OF='next(m for m in d["models"] if m["model"] == "als")'

# sf_recommend DATA_DIR F TAG: one salesflow run; sets SF_FIT (s), SF_WALL (s); eval in $OUT/TAG.json
sf_recommend() {
    local data="$1" f="$2" tag="$3" t0 t1 line
    SF_LOG="$OUT/$tag"
    rm -f "$OUT/$tag.json"
    t0=$(date +%s%N)
    sf recommend --data "$data" --model als --factors "$f" --regularization "$REGULARIZATION" \
        --alpha "$ALPHA" --iterations "$ITERATIONS" --holdout-from "$HOLDOUT" --k "$K" \
        --evaluation "$OUT/$tag.json" --out "$OUT/$tag.recs.csv"
    t1=$(date +%s%N)
    if [[ "$RC" != 0 ]]; then
        tail -n 20 "$SF_LOG.err" >&2
        die "salesflow recommend failed (exit $RC)"
    fi
    SF_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    line=$(grep -m1 '^\[timing\] ALS fit (training on purchases before the holdout' "$SF_LOG.err") \
        || die "no '[timing] ALS fit' line on salesflow's stderr ($SF_LOG.err; KEEP=1)"
    [[ "$line" == *"; $USERS users, $ITEMS products, $TRAIN_PAIRS pairs)"* ]] \
        || die "salesflow's training matrix differs from prepare.py's ($USERS users, $ITEMS" \
               "products, $TRAIN_PAIRS pairs): $line"
    SF_FIT=$(sed -E 's/.*: ([0-9.]+)s$/\1/' <<< "$line")
    [[ "$SF_FIT" =~ ^[0-9.]+$ ]] || die "cannot read the fit time from: $line"
    [[ -s "$OUT/$tag.json" ]] || die "salesflow wrote no $OUT/$tag.json"
    [[ "$(jget "$OUT/$tag.json" 'd["holdout_from"]')" == "$HOLDOUT" ]] \
        || die "salesflow's holdout is not $HOLDOUT ($OUT/$tag.json)"
}

# ---- runs --------------------------------------------------------------------------
declare -A R
for f in "${FS[@]}"; do
    sf_t=(); sf_w=(); im_t=()
    for ((i = 1; i <= RUNS; i++)); do
        sf_recommend "$CSV" "$f" "sf_$f"
        sf_t+=("$SF_FIT"); sf_w+=("$SF_WALL")
        users=$(jget "$OUT/sf_$f.json" "$ALS_OF[\"users\"]")
        [[ "$users" == "$EVALUATED" ]] \
            || die "salesflow evaluated $users customers, prepare.py finds $EVALUATED"
        rm -f "$OUT/im_$f.json"
        "$PY" "$HERE/implicit_side.py" "$OUT/prep" "$OUT/im_$f.json" --factors "$f" \
            --regularization "$REGULARIZATION" --alpha "$ALPHA" --iterations "$ITERATIONS" \
            --k "$K" 2> "$OUT/im_$f.err" || { tail -n 20 "$OUT/im_$f.err" >&2; die "implicit_side.py failed"; }
        im_t+=("$(jget "$OUT/im_$f.json" "f'{d[\"fit_s\"]:.3f}'")")
        echo "  factors $f run $i: ALS fit salesflow ${sf_t[-1]} s (process ${sf_w[-1]} s)," \
             "implicit ${im_t[-1]} s" >&2
    done
    R[$f.sf]=$(median "${sf_t[@]}"); R[$f.sfw]=$(median "${sf_w[@]}"); R[$f.im]=$(median "${im_t[@]}")
    # precision of the last run (both models are deterministic: fixed seeds)
    R[$f.sf_p]=$(jget "$OUT/sf_$f.json" "f'{$ALS_OF[\"precision\"]:.4f}'")
    R[$f.sf_pi]=$(jget "$OUT/sf_$f.json" "f'{$ALS_OF[\"precision_implicit\"]:.4f}'")
    R[$f.sf_map]=$(jget "$OUT/sf_$f.json" "f'{$ALS_OF[\"map\"]:.4f}'")
    R[$f.sf_ndcg]=$(jget "$OUT/sf_$f.json" "f'{$ALS_OF[\"ndcg\"]:.4f}'")
    R[$f.pop_p]=$(jget "$OUT/sf_$f.json" \
        "f'{next(m for m in d[\"models\"] if m[\"model\"] == \"popular\")[\"precision\"]:.4f}'")
    R[$f.im_p]=$(jget "$OUT/im_$f.json" "f'{d[\"precision\"]:.4f}'")
    R[$f.im_pi]=$(jget "$OUT/im_$f.json" "f'{d[\"precision_implicit\"]:.4f}'")
    R[$f.im_map]=$(jget "$OUT/im_$f.json" "f'{d[\"map\"]:.4f}'")
    R[$f.im_ndcg]=$(jget "$OUT/im_$f.json" "f'{d[\"ndcg\"]:.4f}'")
    R[$f.im_pw]=$(jget "$OUT/im_$f.json" "f'{d[\"precision_warm\"]:.4f}'")
    R[$f.im_pc]=$(jget "$OUT/im_$f.json" "f'{d[\"precision_cold\"]:.4f}'")
    R[$f.warm_n]=$(jget "$OUT/im_$f.json" 'd["users_warm"]')
    if [[ "$WARM_CHECK" == 1 ]]; then
        # same training matrix; only customers with a training purchase evaluated
        sf_recommend "$OUT/warm/csv" "$f" "sfwarm_$f"
        users=$(jget "$OUT/sfwarm_$f.json" "$ALS_OF[\"users\"]")
        [[ "$users" == "${R[$f.warm_n]}" ]] \
            || die "salesflow evaluated $users customers on the warm copy, implicit ${R[$f.warm_n]}"
        R[$f.sf_pw]=$(jget "$OUT/sfwarm_$f.json" "f'{$ALS_OF[\"precision\"]:.4f}'")
        # salesflow's P@10 on the customers without a training purchase, by difference
        p_all=$(jget "$OUT/sf_$f.json" "$ALS_OF[\"precision\"]")
        p_warm=$(jget "$OUT/sfwarm_$f.json" "$ALS_OF[\"precision\"]")
        R[$f.sf_pc]=$(awk -v a="$p_all" -v n="$EVALUATED" -v w="$p_warm" -v nw="${R[$f.warm_n]}" \
            -v c="$COLD" 'BEGIN { printf "%.4f", (a * n - w * nw) / (c > 0 ? c : 1) }')
    fi
done
[[ "$(binary_id)" == "$BIN0" ]] \
    || echo "warning: $SALESFLOW changed during the benchmark (rebuilt): runs mix two builds" >&2

# ---- results -----------------------------------------------------------------------
echo
fmt='%-7s %15s %14s %17s %8s %11s %13s %14s\n'
printf "$fmt" factors "salesflow fit s" "implicit fit s" "ratio sf/implicit" "sf P@10" "implicit P@10" \
    "sf P@10 (impl)" "implicit (impl)"
met=1
for f in "${FS[@]}"; do
    ratio=$(awk -v a="${R[$f.sf]}" -v b="${R[$f.im]}" 'BEGIN { printf "%.2f", a / b }')
    awk -v r="$ratio" 'BEGIN { exit !(r <= 1.0) }' || met=0
    printf "$fmt" "$f" "${R[$f.sf]}" "${R[$f.im]}" "$ratio" "${R[$f.sf_p]}" "${R[$f.im_p]}" \
        "${R[$f.sf_pi]}" "${R[$f.im_pi]}"
done
echo "fit = the ALS fit on the training matrix, median of $RUNS: salesflow's '[timing] ALS fit'"
echo "line (matrix built, factors initialised, $ITERATIONS sweeps), implicit's model.fit timed in"
echo "process (transpose, initialisation, sweeps). P@10 = hits/10 averaged over the $EVALUATED"
echo "customers with a new product in the holdout; (impl) = implicit's ranking_metrics_at_k"
echo "precision, Σhits / Σmin(10, |relevant|). Training products never recommended on either side."
if [[ "$met" == 1 ]]; then verdict=met; else verdict="NOT met"; fi
echo "target: ratio <= 1.0 at every setting: $verdict"
for f in "${FS[@]}"; do
    echo "factors $f: salesflow whole process ${R[$f.sfw]} s (loads the CSVs, fits ALS twice, the"\
         "other models, evaluates, writes ${USERS}x$K recommendations); MAP/NDCG@10 salesflow" \
         "${R[$f.sf_map]}/${R[$f.sf_ndcg]}, implicit ${R[$f.im_map]}/${R[$f.im_ndcg]};" \
         "popularity P@10 ${R[$f.pop_p]}"
    if [[ "$WARM_CHECK" == 1 ]]; then
        echo "  P@10 on the ${R[$f.warm_n]} customers with a training purchase: salesflow" \
             "${R[$f.sf_pw]}, implicit ${R[$f.im_pw]}; on the $COLD without one: salesflow" \
             "${R[$f.sf_pc]} (by difference), implicit ${R[$f.im_pc]}"
    else
        echo "  implicit's P@10 on the customers with a training purchase ${R[$f.im_pw]}," \
             "on the $COLD without one ${R[$f.im_pc]}"
    fi
done
if [[ "$WARM_CHECK" == 1 ]]; then
    echo "customers without a training purchase: salesflow recommends them popularity (in their"
    echo "segment when known) for every model, in its evaluation too; implicit's factors for an empty"
    echo "row are zero (every score 0: an arbitrary tie order). So compare the ALS objectives on the"
    echo "customers with a training purchase; the headline P@10 includes salesflow's fallback."
fi
