#!/usr/bin/env bash
# Benchmark: automatic ETS per series, `salesflow forecast` vs statsforecast's AutoETS, on
# 10,000 synthetic monthly sales series of 60 months (make_series.py: level, linear or damped
# trend, additive or multiplicative yearly season, noise, a few level shifts; all positive),
# same season length (12) and horizon (12) for both. One timed run of each tool as a separate
# process: wall time, peak memory, and accuracy on the 12 held-out months (mean MASE, sMAPE,
# RMSSE, coverage of the 95 % intervals; accuracy.py). Target (the issue): salesflow at least
# 5x faster than statsforecast at equal accuracy.
#
#   bench/forecast/run.sh
#   SKIP_SALESFLOW=1 bench/forecast/run.sh     # the statsforecast side only
#
# The peer: statsforecast_autoets.py = StatsForecast(models=[AutoETS(season_length=12)],
# freq='MS', n_jobs=-1).forecast(df, h=12, level=[95]), imports, CSV reading and writing
# included (its stderr line splits the time). Before the timed runs it runs once, untimed, on
# the first 200 series, so one-time costs are not charged to it: the page cache, Python's
# bytecode caches and - for statsforecast 1.x, whose ETS is JIT-compiled by numba - numba's
# on-disk cache (NIXTLA_NUMBA_CACHE=1 is exported so 1.x caches the compiled code; 2.x runs ETS
# in compiled C++ and has no JIT).
#
# salesflow: `salesflow forecast --series train.csv --horizon 12 --backtest-windows 0
#   --season-length 12 --json --out salesflow.json -q` (no backtest: statsforecast's forecast()
#   does none either; salesflow backtests three windows by default).
#
# "cpu s" is user + system time of the process and its children (/usr/bin/time), a check on
# the wall time when the machine is not idle: the script also prints how much of the machine's
# CPU other processes took during each timed run, and warns above 5 %.
#
# Memory: "peak MB" is /usr/bin/time's maximum resident set size, i.e. of the largest single
# process; "tree MB" is the peak of the summed Pss of the process and all its children,
# sampled every 0.2 s (treemem.py), which also counts statsforecast's worker processes.
#
# Environment overrides:
#   N               series                                  (default 10000)
#   LENGTH          training months per series              (default 60; 12 more are held out)
#   DATA            data root; the series go to $DATA/${N}x${LENGTH}, generated only if missing
#                                                           (default /work/bench-data/forecast)
#   SALESFLOW       salesflow binary                        (default <repo>/target/release/salesflow)
#   PY              Python with statsforecast and pandas    (default /work/venv-forecast/bin/python)
#   SKIP_SALESFLOW  1 = run only the statsforecast side
#   SHARES          also fit statsforecast, untimed, on the first SHARES series with .fit() to
#                   report which ETS models it chose; 0 = skip          (default 500)
#   ACC_TOL         "equal accuracy" = salesflow's mean MASE and RMSSE at most this fraction
#                   above statsforecast's                   (default 0.02)
#   KEEP            1 = keep the output folder (forecasts, logs)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
N="${N:-10000}"
LENGTH="${LENGTH:-60}"
DATA="${DATA:-/work/bench-data/forecast}"
SALESFLOW="${SALESFLOW:-$REPO/target/release/salesflow}"
PY="${PY:-/work/venv-forecast/bin/python}"
SKIP_SALESFLOW="${SKIP_SALESFLOW:-0}"
SHARES="${SHARES:-500}"
ACC_TOL="${ACC_TOL:-0.02}"
KEEP="${KEEP:-0}"
H=12          # horizon = held-out months
M=12          # season length
SEED=7
WARMUP=200
TARGET=5
TIME=/usr/bin/time
export NIXTLA_NUMBA_CACHE=1

die() { echo "error: $*" >&2; exit 1; }

# ---- preconditions -----------------------------------------------------------------
for v in N LENGTH; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
(( LENGTH > M + 1 )) || die "LENGTH must exceed $((M + 1)) months (got $LENGTH)"
[[ "$SHARES" =~ ^[0-9]+$ ]] || die "SHARES must be a whole number (got '$SHARES')"
[[ "$SKIP_SALESFLOW" == 0 || "$SKIP_SALESFLOW" == 1 ]] || die "SKIP_SALESFLOW must be 0 or 1"
[[ "$ACC_TOL" =~ ^[0-9]*\.?[0-9]+$ ]] || die "ACC_TOL must be a non-negative number (got '$ACC_TOL')"
[[ -x "$TIME" ]] || die "$TIME not found: apt-get update && apt-get install -y time"
[[ -x "$PY" ]] && "$PY" -c 'import statsforecast, pandas, numpy' 2>/dev/null || die "no \
statsforecast in $PY: python3 -m venv /work/venv-forecast && /work/venv-forecast/bin/pip install \
statsforecast pandas   (or set PY)"
if [[ "$SKIP_SALESFLOW" != 1 ]]; then
    [[ -x "$SALESFLOW" ]] || die "salesflow binary not found at $SALESFLOW: \
build it with cargo build --release -p salesflow-cli   (or set SALESFLOW; SKIP_SALESFLOW=1 runs \
only statsforecast)"
    "$SALESFLOW" forecast --help >/dev/null 2>&1 || die "$SALESFLOW has no 'forecast' command \
(rebuild: cargo build --release -p salesflow-cli)"
fi

# ---- data (generated once, outside the repository) ---------------------------------
DIR="$DATA/${N}x${LENGTH}"
STAMP="n=$N length=$LENGTH holdout=$H seed=$SEED"
if [[ ! -f "$DIR/train.csv" || ! -f "$DIR/actuals.csv" ]]; then
    echo "generating $N series of $LENGTH + $H months into $DIR ..."
    "$PY" "$HERE/make_series.py" "$N" "$LENGTH" "$H" "$DIR" --seed "$SEED" \
        || die "make_series.py failed"
    echo "$STAMP" > "$DIR/GENERATED"
elif [[ -f "$DIR/GENERATED" ]] && ! grep -qx "$STAMP" "$DIR/GENERATED"; then
    echo "note: $DIR holds other data ($(cat "$DIR/GENERATED")); delete it to regenerate" >&2
fi

OUT="$(mktemp -d "${TMPDIR:-/tmp}/salesflow-bench-forecast.XXXXXX")"
if [[ "$KEEP" == 1 ]]; then
    echo "outputs kept in $OUT"
else
    trap 'rm -rf "$OUT"' EXIT
fi

# ---- measuring ---------------------------------------------------------------------
# measure LOG CMD...: runs CMD under /usr/bin/time, stdout to LOG.out, stderr to LOG.err, while
# treemem.py samples its process tree. Sets WALL (s), CPU (user + system s, the process and
# its waited-for children), RSS_KB (largest single process) and TREE_KB (peak summed Pss of the
# tree). A failure ends the benchmark. Both tools are measured
# exactly this way.
measure() {
    local log="$1"; shift
    local t0 t1 pid spid rc=0 user sys b0 b1
    b0=$(busy_s)
    t0=$(date +%s%N)
    "$TIME" -f '%M %U %S' -o "$log.time" "$@" >"$log.out" 2>"$log.err" &
    pid=$!
    "$PY" "$HERE/treemem.py" "$pid" >"$log.tree" &
    spid=$!
    wait "$pid" || rc=$?
    t1=$(date +%s%N)
    b1=$(busy_s)
    wait "$spid" || true
    if [[ "$rc" != 0 ]]; then
        echo "error: command failed (exit $rc): $*" >&2
        tail -n 20 "$log.err" "$log.out" >&2
        exit 1
    fi
    WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    read -r RSS_KB user sys < <(tail -n 1 "$log.time")
    [[ "$RSS_KB" =~ ^[0-9]+$ ]] || RSS_KB=0
    CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
    TREE_KB=$(tail -n 1 "$log.tree"); [[ "$TREE_KB" =~ ^[0-9]+$ ]] || TREE_KB=0
    # CPU time the rest of the machine used meanwhile, as a share of all cores over the run
    OTHER=$(awk -v b0="$b0" -v b1="$b1" -v c="$CPU" -v w="$WALL" -v n="$(nproc)" \
        'BEGIN { o = (b1 - b0) - c; if (o < 0) o = 0; printf "%.0f", 100 * o / (w * n) }')
}
# busy_s: CPU seconds the whole machine has spent not idle since boot (/proc/stat)
busy_s() {
    awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat
}
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

echo "salesflow forecast benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores," \
     "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "statsforecast: $("$PY" -c 'import statsforecast, numpy, pandas, sys
print(f"statsforecast {statsforecast.__version__}, numpy {numpy.__version__}, "
      f"pandas {pandas.__version__}, Python {sys.version.split()[0]}")') ($PY)"
if [[ "$SKIP_SALESFLOW" != 1 ]]; then
    echo "salesflow: $SALESFLOW ($("$SALESFLOW" --version 2>/dev/null || echo 'version unknown'))"
fi
echo "input: $DIR/train.csv ($N series x $LENGTH months; $H held out), season length $M," \
     "horizon $H, one timed run each"
load1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
    echo "warning: the machine is busy (load $load1): timings will be noisy" >&2
fi

# ---- warm-up (untimed) ---------------------------------------------------------------
cat "$DIR/train.csv" > /dev/null
"$PY" "$HERE/statsforecast_autoets.py" "$DIR/train.csv" "$H" "$M" "$OUT/warmup.csv" \
    --first "$WARMUP" 2>"$OUT/warmup.err" || { cat "$OUT/warmup.err" >&2; die "statsforecast warm-up failed"; }
[[ "$SKIP_SALESFLOW" == 1 ]] || cat "$SALESFLOW" > /dev/null

# ---- timed runs ----------------------------------------------------------------------
echo "statsforecast ..." >&2
measure "$OUT/sf" "$PY" "$HERE/statsforecast_autoets.py" "$DIR/train.csv" "$H" "$M" \
    "$OUT/statsforecast.csv"
[[ -s "$OUT/statsforecast.csv" ]] || die "statsforecast_autoets.py wrote no forecasts"
SF_W=$WALL; SF_C=$CPU; SF_M=$RSS_KB; SF_T=$TREE_KB; SF_O=$OTHER
SF_SPLIT=$(tail -n 1 "$OUT/sf.err")
SL_O=""

if [[ "$SKIP_SALESFLOW" != 1 ]]; then
    echo "salesflow ..." >&2
    measure "$OUT/sl" "$SALESFLOW" forecast --series "$DIR/train.csv" --horizon "$H" --backtest-windows 0 \
        --season-length "$M" --json --out "$OUT/salesflow.json" -q
    [[ -s "$OUT/salesflow.json" ]] || die "salesflow forecast wrote no $OUT/salesflow.json"
    SL_W=$WALL; SL_C=$CPU; SL_M=$RSS_KB; SL_T=$TREE_KB; SL_O=$OTHER
fi

# ---- which models statsforecast chose (untimed, a subset) ----------------------------
acc_extra=()
if (( SHARES > 0 )); then
    echo "statsforecast model choice on the first $SHARES series (untimed) ..." >&2
    "$PY" "$HERE/statsforecast_autoets.py" "$DIR/train.csv" "$H" "$M" "$OUT/shares.csv" \
        --first "$SHARES" --chosen-models "$OUT/chosen.csv" 2>"$OUT/shares.err" \
        || { cat "$OUT/shares.err" >&2; die "statsforecast model-choice run failed"; }
    acc_extra+=(--models "statsforecast, first $SHARES=$OUT/chosen.csv")
fi

# ---- accuracy --------------------------------------------------------------------------
files=("statsforecast=$OUT/statsforecast.csv")
[[ "$SKIP_SALESFLOW" == 1 ]] || files+=("salesflow=$OUT/salesflow.json")
"$PY" "$HERE/accuracy.py" "$DIR/actuals.csv" "$DIR/train.csv" "${files[@]}" --m "$M" --tsv \
    "${acc_extra[@]}" >"$OUT/accuracy.txt" || { cat "$OUT/accuracy.txt" >&2; die "accuracy.py failed \
(a forecast file misses series or has non-finite values; KEEP=1 to inspect)"; }
acc() { awk -F'\t' -v t="$1" -v c="$2" 'NF > 1 && $1 == t { print $c }' "$OUT/accuracy.txt"; }

# ---- results -----------------------------------------------------------------------
echo
fmt='%-14s %8s %8s %8s %8s %8s %8s %8s %9s\n'
printf "$fmt" tool "wall s" "cpu s" "peak MB" "tree MB" MASE "sMAPE %" RMSSE "cov95 %"
printf "$fmt" statsforecast "$SF_W" "$SF_C" "$(mb "$SF_M")" "$(mb "$SF_T")" "$(acc statsforecast 2)" \
    "$(acc statsforecast 3)" "$(acc statsforecast 4)" "$(acc statsforecast 5)"
if [[ "$SKIP_SALESFLOW" != 1 ]]; then
    printf "$fmt" salesflow "$SL_W" "$SL_C" "$(mb "$SL_M")" "$(mb "$SL_T")" "$(acc salesflow 2)" \
        "$(acc salesflow 3)" "$(acc salesflow 4)" "$(acc salesflow 5)"
else
    printf "$fmt" salesflow skipped - - - - - - -
fi
echo "wall: one run, process start to exit (statsforecast: imports, CSV read/write included;"
echo "  $SF_SPLIT)"
echo "cpu s: user + system of the process and its children (less sensitive to a busy machine)"
other="other processes used ${SF_O} % of all cores during the statsforecast run"
[[ -z "$SL_O" ]] || other+=", ${SL_O} % during the salesflow run"
echo "$other"
for o in "$SF_O" ${SL_O:+"$SL_O"}; do
    if (( o > 5 )); then
        echo "warning: other processes were busy during a timed run: wall times are not clean" >&2
        break
    fi
done
echo "peak MB: largest single process (/usr/bin/time); tree MB: process + children, summed Pss"
echo "accuracy: $H held-out months of each of the $N series; MASE/RMSSE scaled by the in-sample"
echo "  seasonal naive (lag $M); cov95: held-out points inside the 95 % interval"
grep -v $'\t' "$OUT/accuracy.txt" || true
if [[ "$SKIP_SALESFLOW" == 1 ]]; then
    echo "salesflow: skipped (SKIP_SALESFLOW=1); no ratio"
    exit 0
fi
RATIO=$(awk -v a="$SF_W" -v b="$SL_W" 'BEGIN { printf "%.2f", a / b }')
echo "salesflow is ${RATIO}x faster (statsforecast wall / salesflow wall)"
if awk -v r="$RATIO" -v t="$TARGET" 'BEGIN { exit !(r >= t) }'; then SPEED=met; else SPEED="NOT met"; fi
if awk -v s1="$(acc salesflow 2)" -v p1="$(acc statsforecast 2)" -v s2="$(acc salesflow 4)" \
       -v p2="$(acc statsforecast 4)" -v tol="$ACC_TOL" \
       'BEGIN { exit !(s1 <= p1 * (1 + tol) && s2 <= p2 * (1 + tol)) }'; then
    EQUAL=yes
else
    EQUAL=NO
fi
echo "target >= ${TARGET}x faster: $SPEED; equal accuracy (MASE and RMSSE at most" \
     "$(awk -v t="$ACC_TOL" 'BEGIN { printf "%g", 100 * t }') % above statsforecast's): $EQUAL"
