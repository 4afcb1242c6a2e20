#!/usr/bin/env bash
# Benchmark: the whole CLV path (orders CSV -> per-customer summary -> BG/NBD + Gamma-Gamma fits
# -> per-customer predictions) in salesflow vs lifetimes on the same order history, and the
# Pareto/NBD fit alone. See README.md beside this file.
#
#   bench/clv/run.sh
#
# Environment overrides:
#   CUSTOMERS          customers in the generated data                  (default 1000000)
#   SALESFLOW          salesflow binary                  (default <repo>/target/release/salesflow)
#   DATA               data directory, generated only if missing        (default /work/bench-data/clv)
#   RUNS               timed runs per tool; median                      (default 1: lifetimes is slow)
#   VENV               virtualenv with lifetimes                        (default /work/venv-lifetimes)
#   LIFETIMES_TIMEOUT  seconds before lifetimes' CLV path is stopped    (default 3600)
#   PARETO_TIMEOUT     seconds before lifetimes' Pareto/NBD fit is stopped (default 900)
#   SKIP_PARETO        1 = skip the Pareto/NBD fit timing
#   SAMPLE             customers whose predictions are recomputed by lifetimes' formulas with
#                      salesflow's parameters in the checks             (default 10000)
#   KEEP               1 = keep the output directory
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CUSTOMERS="${CUSTOMERS:-1000000}"
SALESFLOW="${SALESFLOW:-$REPO/target/release/salesflow}"
DATA="${DATA:-/work/bench-data/clv}"
RUNS="${RUNS:-1}"
VENV="${VENV:-/work/venv-lifetimes}"
LIFETIMES_TIMEOUT="${LIFETIMES_TIMEOUT:-3600}"
PARETO_TIMEOUT="${PARETO_TIMEOUT:-900}"
SKIP_PARETO="${SKIP_PARETO:-0}"
SAMPLE="${SAMPLE:-10000}"
KEEP="${KEEP:-0}"
SEED=11
TARGET=30
PY="$VENV/bin/python"
TIME=/usr/bin/time

die() { echo "error: $*" >&2; exit 1; }

# ---- preconditions -----------------------------------------------------------------
for v in RUNS CUSTOMERS LIFETIMES_TIMEOUT PARETO_TIMEOUT; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
[[ "$SAMPLE" =~ ^[0-9]+$ ]] || die "SAMPLE must be a whole number (got '$SAMPLE')"
[[ "$SKIP_PARETO" == 0 || "$SKIP_PARETO" == 1 ]] || die "SKIP_PARETO must be 0 or 1 (got '$SKIP_PARETO')"
[[ -x "$TIME" ]] || die "$TIME not found: apt-get update && apt-get install -y time"
command -v timeout >/dev/null || die "timeout (coreutils) not found"
[[ -x "$PY" ]] && "$PY" -c 'import lifetimes' 2>/dev/null || die "no lifetimes in $VENV: \
python3 -m venv $VENV && $VENV/bin/pip install lifetimes==0.11.3 numpy==1.23.5 pandas==1.5.3 \
scipy==1.10.1   (or set VENV)"
[[ -x "$SALESFLOW" ]] || die "salesflow binary not found at $SALESFLOW: \
build it with cargo build --release -p salesflow-cli   (or set SALESFLOW)"

CSV="$DATA/csv/orders.csv"

# ---- data (generated once, outside the repository) ---------------------------------
if [[ ! -f "$CSV" ]]; then
    echo "generating $CUSTOMERS customers' orders into $DATA ..."
    mkdir -p "$DATA"
    "$SALESFLOW" demo --orders-only --customers "$CUSTOMERS" --seed "$SEED" --out "$DATA" \
        || die "salesflow demo failed (exit $?)"
    [[ -f "$CSV" ]] || die "salesflow demo did not write $CSV"
    echo "customers=$CUSTOMERS seed=$SEED" > "$DATA/GENERATED"
elif [[ -f "$DATA/GENERATED" ]] && ! grep -qx "customers=$CUSTOMERS seed=$SEED" "$DATA/GENERATED"; then
    echo "note: $DATA holds existing data ($(cat "$DATA/GENERATED")), not regenerated for" \
         "CUSTOMERS=$CUSTOMERS; delete it or set DATA to regenerate" >&2
fi

OUT="$(mktemp -d "${TMPDIR:-/tmp}/salesflow-bench-clv.XXXXXX")"
if [[ "$KEEP" == 1 ]]; then
    echo "outputs kept in $OUT"
else
    trap 'rm -rf "$OUT"' EXIT
fi

# ---- measuring ---------------------------------------------------------------------
# run_limited LOG LIMIT CMD...: runs CMD as its own process under /usr/bin/time, stopped after
# LIMIT seconds (0 = no limit); stdout to LOG.out, stderr to LOG.err. Sets WALL (s), RSS_KB
# (its "Maximum resident set size") and RC (its exit status; 124 = stopped by the limit).
# Every timed command of both tools is measured exactly this way.
run_limited() {
    local log="$1" limit="$2"; shift 2
    local t0 t1
    local -a lim=()
    [[ "$limit" == 0 ]] || lim=(timeout --kill-after=30 "$limit")
    t0=$(date +%s%N)
    if "$TIME" -f '%M' -o "$log.time" "${lim[@]}" "$@" >"$log.out" 2>"$log.err"; then
        RC=0
    else
        RC=$?
    fi
    t1=$(date +%s%N)
    WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    RSS_KB=$(tail -n 1 "$log.time")
    [[ "$RSS_KB" =~ ^[0-9]+$ ]] || RSS_KB=0
    # stopped by the limit: timeout's TERM (124), or its KILL 30 s later (137)
    if [[ "$limit" != 0 && ( "$RC" == 124 || "$RC" == 137 ) ]] \
        && awk -v w="$WALL" -v l="$limit" 'BEGIN { exit !(w >= l) }'; then
        RC=124
    fi
}

# run_one LOG CMD...: as run_limited without a limit; a failure ends the benchmark.
run_one() {
    local log="$1"; shift
    run_limited "$log" 0 "$@"
    if [[ "$RC" != 0 ]]; then
        echo "error: command failed (exit $RC): $*" >&2
        tail -n 20 "$log.err" "$log.out" >&2
        exit 1
    fi
}

median() { # values as arguments
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
meets() { awk -v a="$1" -v b="$2" -v t="$TARGET" 'BEGIN { exit !(a / b >= t) }'; }

echo "salesflow CLV benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores," \
     "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "lifetimes: $("$PY" -c 'import lifetimes, numpy, pandas, scipy, sys
print(f"lifetimes {lifetimes.__version__}, numpy {numpy.__version__}, pandas {pandas.__version__}, "
      f"scipy {scipy.__version__}, Python {sys.version.split()[0]}")') ($VENV)"
echo "salesflow: $SALESFLOW ($("$SALESFLOW" --version 2>/dev/null || echo 'version unknown'))"
echo "input: $CSV ($(($(wc -l < "$CSV") - 1)) orders, $(du -m "$CSV" | cut -f1) MB);" \
     "$RUNS run(s) each, median"
load1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
    echo "warning: the machine is busy (load $load1): timings will be noisy" >&2
fi

# ---- the whole CLV path --------------------------------------------------------------
cat "$CSV" > /dev/null   # same warm page cache for both tools
sf_w=(); sf_m=(); lt_w=(); lt_m=()
LT_STATE=ok   # ok | timeout | failed | crashed
LT_NOTE=""
for ((i = 1; i <= RUNS; i++)); do
    rm -rf "$OUT/sf"
    # SALESFLOW_TIMINGS: its phases on stderr, printed below beside lifetimes' steps.
    SALESFLOW_TIMINGS=1 run_one "$OUT/sf_clv" "$SALESFLOW" -q clv --orders "$CSV" --out "$OUT/sf" \
        --time-unit day --model bgnbd
    sf_w+=("$WALL"); sf_m+=("$RSS_KB")
    for f in summary.csv predictions.csv fit_bg_nbd.json fit_gamma_gamma.json; do
        [[ -s "$OUT/sf/$f" ]] || die "salesflow clv wrote no $OUT/sf/$f"
    done
    if [[ "$LT_STATE" != ok ]]; then
        echo "  clv run $i: salesflow ${sf_w[-1]} s, lifetimes not run again ($LT_STATE)" >&2
        continue
    fi
    rm -rf "$OUT/lt"
    run_limited "$OUT/lt_clv" "$LIFETIMES_TIMEOUT" "$PY" "$HERE/lifetimes_clv.py" "$CSV" "$OUT/lt"
    case "$RC" in
        0)
            [[ -s "$OUT/lt/predictions.csv" ]] || die "lifetimes_clv.py wrote no $OUT/lt/predictions.csv"
            lt_w+=("$WALL"); lt_m+=("$RSS_KB") ;;
        124)
            LT_STATE=timeout; lt_w+=("$WALL"); lt_m+=("$RSS_KB")
            LT_NOTE="lifetimes CLV path: did not finish in $LIFETIMES_TIMEOUT s" ;;
        3)
            LT_STATE=failed; lt_w+=("$WALL"); lt_m+=("$RSS_KB")
            LT_NOTE="lifetimes CLV path FAILED after $WALL s: $(grep -m1 'FAILED' "$OUT/lt_clv.err" || echo 'see log')"
            # lifetimes prints scipy's OptimizeResult on stdout before its ConvergenceError
            msg=$(awk '$1 == "message:" { $1 = ""; print; exit }' "$OUT/lt_clv.out")
            [[ -z "$msg" ]] || LT_NOTE+=" (scipy:$msg)" ;;
        *)
            LT_STATE=crashed; lt_w+=("$WALL"); lt_m+=("$RSS_KB")
            LT_NOTE="lifetimes CLV path CRASHED (exit $RC) after $WALL s, peak RSS $(mb "$RSS_KB") MB"
            echo "lifetimes_clv.py exited $RC; the end of its output:" >&2
            tail -n 20 "$OUT/lt_clv.err" "$OUT/lt_clv.out" >&2 ;;
    esac
    echo "  clv run $i: salesflow ${sf_w[-1]} s, lifetimes ${lt_w[-1]} s ($LT_STATE)" >&2
done
SF_W=$(median "${sf_w[@]}"); SF_M=$(median "${sf_m[@]}")
LT_W=$(median "${lt_w[@]}"); LT_M=$(median "${lt_m[@]}")
if [[ "$LT_STATE" == ok ]]; then
    LT_TXT=$LT_W; RATIO=$(ratio "$LT_W" "$SF_W")
    if meets "$LT_W" "$SF_W"; then VERDICT="met"; else VERDICT="NOT met"; fi
elif [[ "$LT_STATE" == timeout ]]; then
    LT_TXT=">= $LIFETIMES_TIMEOUT"; RATIO=">= $(ratio "$LIFETIMES_TIMEOUT" "$SF_W")"
    if meets "$LIFETIMES_TIMEOUT" "$SF_W"; then VERDICT="met"; else VERDICT="unknown (lifetimes did not finish)"; fi
else
    LT_TXT="$LT_STATE"; RATIO="-"; VERDICT="not measurable (lifetimes $LT_STATE)"
fi
CLV_ROW=("clv end to end" "$SF_W" "$LT_TXT" "$RATIO" "$(mb "$SF_M")" "$(mb "$LT_M")")
CLV_VERDICT=$VERDICT

# ---- the Pareto/NBD fit alone --------------------------------------------------------
PARETO_ROW=()
PARETO_NOTE=""
PARETO_SF_JSON=""; PARETO_LT_JSON=""
if [[ "$SKIP_PARETO" != 1 ]]; then
    SUMMARY="$OUT/sf/summary.csv"
    cat "$SUMMARY" > /dev/null
    ps_w=(); ps_m=(); pl_f=(); pl_w=(); pl_m=()
    P_STATE=ok
    for ((i = 1; i <= RUNS; i++)); do
        run_one "$OUT/pareto_sf" "$SALESFLOW" -q clv fit --summary "$SUMMARY" --model pareto --json
        ps_w+=("$WALL"); ps_m+=("$RSS_KB")
        cp "$OUT/pareto_sf.out" "$OUT/pareto_sf.json"
        PARETO_SF_JSON="$OUT/pareto_sf.json"
        "$PY" -c 'import json, sys; json.load(open(sys.argv[1]))' "$PARETO_SF_JSON" 2>/dev/null \
            || die "salesflow clv fit --json printed no JSON (see $OUT/pareto_sf.out; KEEP=1)"
        if [[ "$P_STATE" != ok ]]; then
            echo "  pareto run $i: salesflow ${ps_w[-1]} s, lifetimes not run again ($P_STATE)" >&2
            continue
        fi
        rm -f "$OUT/pareto_lt.json"
        run_limited "$OUT/pareto_lt" "$PARETO_TIMEOUT" "$PY" "$HERE/pareto_fit.py" "$SUMMARY" \
            "$OUT/pareto_lt.json"
        pl_w+=("$WALL"); pl_m+=("$RSS_KB")
        case "$RC" in
            0)
                pl_f+=("$(awk '/^pareto_fit: fit [0-9.]+ s$/ { print $3 }' "$OUT/pareto_lt.err")")
                [[ -n "${pl_f[-1]}" ]] || die "no fit time in pareto_fit.py's output ($OUT/pareto_lt.err)"
                PARETO_LT_JSON="$OUT/pareto_lt.json" ;;
            124)
                P_STATE=timeout
                started=$(awk '/^pareto_fit: fit started/ { print $4 }' "$OUT/pareto_lt.err")
                # the fit ran at least from its start until the process was stopped
                P_BOUND=$(awk -v w="$WALL" -v s="${started:-0}" 'BEGIN { printf "%.1f", w - s }')
                PARETO_NOTE="lifetimes Pareto/NBD: did not finish in $PARETO_TIMEOUT s" ;;
            *)
                P_STATE=failed
                PARETO_NOTE="lifetimes Pareto/NBD FAILED (exit $RC) after $WALL s: $(tail -n 1 "$OUT/pareto_lt.err")" ;;
        esac
        echo "  pareto run $i: salesflow ${ps_w[-1]} s, lifetimes process ${pl_w[-1]} s ($P_STATE)" >&2
    done
    PS_W=$(median "${ps_w[@]}"); PS_M=$(median "${ps_m[@]}"); PL_M=$(median "${pl_m[@]}")
    case "$P_STATE" in
        ok)
            PL_F=$(median "${pl_f[@]}"); PL_TXT=$PL_F; P_RATIO=$(ratio "$PL_F" "$PS_W")
            if meets "$PL_F" "$PS_W"; then P_VERDICT="met"; else P_VERDICT="NOT met"; fi
            PARETO_NOTE="lifetimes Pareto/NBD process wall $(median "${pl_w[@]}") s (fit alone $PL_F s)" ;;
        timeout)
            PL_TXT=">= $P_BOUND"; P_RATIO=">= $(ratio "$P_BOUND" "$PS_W")"
            if meets "$P_BOUND" "$PS_W"; then P_VERDICT="met"; else P_VERDICT="unknown (lifetimes did not finish)"; fi ;;
        *)
            PL_TXT="failed"; P_RATIO="-"; P_VERDICT="not measurable (lifetimes failed)" ;;
    esac
    PARETO_ROW=("pareto/nbd fit" "$PS_W" "$PL_TXT" "$P_RATIO" "$(mb "$PS_M")" "$(mb "$PL_M")")
fi

# ---- results -----------------------------------------------------------------------
echo
fmt='%-16s %12s %13s %18s %13s %13s\n'
printf "$fmt" step "salesflow s" "lifetimes s" "ratio lt/sf" "salesflow MB" "lifetimes MB"
printf "$fmt" "${CLV_ROW[@]}"
[[ ${#PARETO_ROW[@]} == 0 ]] || printf "$fmt" "${PARETO_ROW[@]}"
echo "wall time and peak RSS (median) of each tool as a separate process; ratio above 1 ="
echo "salesflow faster. clv: orders.csv -> summary -> BG/NBD + Gamma-Gamma -> predictions.csv"
echo "(salesflow also writes summary.csv, the fits and two SVG charts; lifetimes' time includes"
echo "Python start-up and imports). pareto/nbd: salesflow = the whole 'clv fit' process (reads"
echo "summary.csv); lifetimes = ParetoNBDFitter.fit alone, in process; MB = each process's peak."
echo "target: >= ${TARGET}x on both. clv end to end: $CLV_VERDICT${PARETO_ROW:+; pareto/nbd fit: $P_VERDICT}"
[[ -z "$LT_NOTE" ]] || echo "$LT_NOTE"
[[ -z "$PARETO_NOTE" ]] || echo "$PARETO_NOTE"
[[ "$SKIP_PARETO" != 1 ]] || echo "pareto/nbd fit: skipped (SKIP_PARETO=1)"
if [[ -s "$OUT/lt/params.json" ]]; then
    "$PY" - "$OUT/lt/params.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
t = d.get("timings_s", {})
print("lifetimes in-process steps (last run): "
      + ", ".join(f"{k} {v:.2f}" for k, v in t.items())
      + (f"; total {d['total_in_process_s']:.2f} s" if "total_in_process_s" in d else ""))
print(f"  {d.get('orders', '?')} orders, {d.get('purchases', '?')} purchases, "
      f"{d.get('customers', '?')} customers ({d.get('repeat_customers', '?')} repeat)")
EOF
elif [[ -s "$OUT/lt_clv.err" ]]; then
    steps=$(awk '/^step / { n = $2; for (j = 3; j < NF - 1; j++) n = n " " $j
        printf "%s%s %s", s, n, $(NF - 1); s = ", " }' "$OUT/lt_clv.err")
    [[ -z "$steps" ]] || echo "lifetimes in-process steps (until stopped): $steps"
fi

sf_steps=$(awk '/^clv [a-z ]+: [0-9.]+ s( \(cpu [0-9.]+ s\))?$/ { sub(/^clv /, ""); sub(/:/, "")
    sub(/ s$/, ""); sub(/ s \(cpu /, " (cpu "); sub(/ s\)$/, ")"); printf "%s%s", s, $0; s = ", " }' \
    "$OUT/sf_clv.err")
[[ -z "$sf_steps" ]] || echo "salesflow phases (last run, SALESFLOW_TIMINGS): $sf_steps"

# ---- outputs must agree ------------------------------------------------------------
echo
if [[ "$LT_STATE" != ok && ! -s "$OUT/lt/params.json" ]]; then
    mkdir -p "$OUT/lt"
    "$PY" -c 'import json, sys; json.dump({"status": sys.argv[1], "error": sys.argv[2]},
        open(sys.argv[3], "w"))' "$LT_STATE" "$LT_NOTE" "$OUT/lt/params.json"
fi
ok=1
cmp_args=("$OUT/sf" "$OUT/lt" --sample "$SAMPLE")
[[ -z "$PARETO_SF_JSON" ]] || cmp_args+=(--pareto-sf "$PARETO_SF_JSON")
[[ -z "$PARETO_LT_JSON" ]] || cmp_args+=(--pareto-lt "$PARETO_LT_JSON")
"$PY" "$HERE/compare_clv.py" "${cmp_args[@]}" || ok=0
if [[ "$ok" != 1 ]]; then
    echo "FAIL: outputs disagree (rerun with KEEP=1 to inspect them)" >&2
    exit 1
fi
if [[ "$LT_STATE" == crashed ]]; then
    echo "FAIL: lifetimes crashed (see above); salesflow's outputs checked as far as possible" >&2
    exit 1
fi
echo "OK: outputs agree as far as both tools produced them"
