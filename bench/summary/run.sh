#!/usr/bin/env bash
# Benchmark: salesflow's per-customer BTYD summary vs DuckDB (same SQL definition),
# from the same CSV and the same Parquet file. See README.md beside this file.
#
#   bench/summary/run.sh
#
# Environment overrides:
#   CUSTOMERS    customers in the generated data            (default 3000000)
#   SALESFLOW    salesflow binary                           (default <repo>/target/release/salesflow)
#   DATA         data directory, generated only if missing  (default /work/bench-data/summary)
#   RUNS         timed runs per tool and format; median     (default 3)
#   VENV         virtualenv with duckdb                     (default /work/venv-bench)
#   DUCKDB_ONLY  1 = time DuckDB only (plumbing test without the binary; DATA must exist,
#                e.g. made by fake_orders.py)
#   KEEP         1 = keep the output directory
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CUSTOMERS="${CUSTOMERS:-3000000}"
SALESFLOW="${SALESFLOW:-$REPO/target/release/salesflow}"
DATA="${DATA:-/work/bench-data/summary}"
RUNS="${RUNS:-3}"
VENV="${VENV:-/work/venv-bench}"
DUCKDB_ONLY="${DUCKDB_ONLY:-0}"
KEEP="${KEEP:-0}"
PY="$VENV/bin/python"
TIME=/usr/bin/time

die() { echo "error: $*" >&2; exit 1; }

# ---- preconditions -----------------------------------------------------------------
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got '$RUNS')"
[[ "$CUSTOMERS" =~ ^[1-9][0-9]*$ ]] || die "CUSTOMERS must be a positive integer (got '$CUSTOMERS')"
[[ -x "$TIME" ]] || die "$TIME not found: apt-get update && apt-get install -y time"
[[ -x "$PY" ]] && "$PY" -c 'import duckdb' 2>/dev/null || die "no duckdb in $VENV: \
python3 -m venv $VENV && $VENV/bin/pip install duckdb==2.0.0   (or set VENV)"
if [[ "$DUCKDB_ONLY" != 1 ]]; then
    [[ -x "$SALESFLOW" ]] || die "salesflow binary not found at $SALESFLOW: \
build it with cargo build --release -p salesflow-cli   (or set SALESFLOW)"
fi

CSV="$DATA/csv/orders.csv"
PARQUET="$DATA/parquet/orders.parquet"

# ---- data (generated once, outside the repository) ---------------------------------
if [[ ! -f "$CSV" || ! -f "$PARQUET" ]]; then
    [[ "$DUCKDB_ONLY" != 1 ]] || die "no data in $DATA (DUCKDB_ONLY=1 does not generate it; \
for a plumbing test: $PY $HERE/fake_orders.py $DATA 100000)"
    echo "generating $CUSTOMERS customers' orders into $DATA ..."
    mkdir -p "$DATA"
    "$SALESFLOW" demo --orders-only --customers "$CUSTOMERS" --seed 7 --out "$DATA" \
        || die "salesflow demo failed (exit $?)"
    [[ -f "$CSV" && -f "$PARQUET" ]] || die "salesflow demo did not write $CSV and $PARQUET"
    echo "customers=$CUSTOMERS seed=7" > "$DATA/GENERATED"
elif [[ -f "$DATA/GENERATED" ]] && ! grep -qx "customers=$CUSTOMERS seed=7" "$DATA/GENERATED"; then
    echo "note: $DATA holds existing data ($(cat "$DATA/GENERATED")), not regenerated for" \
         "CUSTOMERS=$CUSTOMERS; delete it or set DATA to regenerate" >&2
fi

OUT="$(mktemp -d "${TMPDIR:-/tmp}/salesflow-bench-summary.XXXXXX")"
if [[ "$KEEP" == 1 ]]; then
    echo "outputs kept in $OUT"
else
    trap 'rm -rf "$OUT"' EXIT
fi

# ---- measuring ---------------------------------------------------------------------
# run_one LOG CMD...: runs CMD as its own process under /usr/bin/time; sets WALL (s) and
# RSS_KB (its "Maximum resident set size"). Both tools are measured exactly this way.
run_one() {
    local log="$1"; shift
    local t0 t1
    t0=$(date +%s%N)
    if ! "$TIME" -f '%M' -o "$log.time" "$@" >"$log" 2>&1; then
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

echo "salesflow summary benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores," \
     "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "duckdb $("$PY" -c 'import duckdb; print(duckdb.__version__)') (threads: default = all cores)"
[[ "$DUCKDB_ONLY" == 1 ]] || echo "salesflow: $SALESFLOW ($("$SALESFLOW" --version 2>/dev/null || echo 'version unknown'))"
echo "input: $DATA ($("$PY" -c "import duckdb,sys; print(duckdb.sql(\"SELECT count(*) FROM read_parquet('$PARQUET')\").fetchall()[0][0])") orders;" \
     "csv $(du -m "$CSV" | cut -f1) MB, parquet $(du -m "$PARQUET" | cut -f1) MB); $RUNS runs each, median"
load1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
    echo "warning: the machine is busy (load $load1): timings will be noisy" >&2
fi

declare -A RES
for fmt in csv parquet; do
    if [[ "$fmt" == csv ]]; then input="$CSV"; else input="$PARQUET"; fi
    cat "$input" > /dev/null   # same warm page cache for both tools
    sf_w=(); sf_m=(); dd_w=(); dd_m=(); dd_q=()
    for ((i = 1; i <= RUNS; i++)); do
        if [[ "$DUCKDB_ONLY" != 1 ]]; then
            rm -f "$OUT/sf_$fmt.csv"
            run_one "$OUT/sf_$fmt.log" "$SALESFLOW" summary --orders "$input" --out "$OUT/sf_$fmt.csv"
            sf_w+=("$WALL"); sf_m+=("$RSS_KB")
            [[ -s "$OUT/sf_$fmt.csv" ]] || die "salesflow wrote no $OUT/sf_$fmt.csv"
        fi
        rm -f "$OUT/dd_$fmt.csv"
        run_one "$OUT/dd_$fmt.log" "$PY" "$HERE/duckdb_summary.py" "$input" "$OUT/dd_$fmt.csv"
        dd_w+=("$WALL"); dd_m+=("$RSS_KB")
        dd_q+=("$(awk '/^duckdb query/ { sub(/s$/, "", $3); print $3 }' "$OUT/dd_$fmt.log")")
        if [[ "$DUCKDB_ONLY" == 1 ]]; then last_sf=-; else last_sf=${sf_w[-1]}; fi
        echo "  $fmt run $i: salesflow $last_sf s, duckdb ${dd_w[-1]} s" >&2
    done
    RES[$fmt.dd_w]=$(median "${dd_w[@]}")
    RES[$fmt.dd_m]=$(median "${dd_m[@]}")
    RES[$fmt.dd_q]=$(median "${dd_q[@]}")
    if [[ "$DUCKDB_ONLY" != 1 ]]; then
        RES[$fmt.sf_w]=$(median "${sf_w[@]}")
        RES[$fmt.sf_m]=$(median "${sf_m[@]}")
    fi
done

# ---- results -----------------------------------------------------------------------
echo
printf '%-8s %13s %10s %17s %13s %10s %16s\n' format "salesflow s" "duckdb s" "ratio sf/duckdb" \
    "salesflow MB" "duckdb MB" "(duckdb query s)"
for fmt in csv parquet; do
    if [[ "$DUCKDB_ONLY" == 1 ]]; then
        sw=-; ratio=-; sm=-
    else
        sw=${RES[$fmt.sf_w]}
        ratio=$(awk -v a="$sw" -v b="${RES[$fmt.dd_w]}" 'BEGIN { printf "%.2f", a / b }')
        sm=$(awk -v k="${RES[$fmt.sf_m]}" 'BEGIN { printf "%.0f", k / 1024 }')
    fi
    dm=$(awk -v k="${RES[$fmt.dd_m]}" 'BEGIN { printf "%.0f", k / 1024 }')
    printf '%-8s %13s %10s %17s %13s %10s %16s\n' "$fmt" "$sw" "${RES[$fmt.dd_w]}" "$ratio" \
        "$sm" "$dm" "${RES[$fmt.dd_q]}"
done
echo "wall time and peak RSS (median) of each tool as a separate process; duckdb includes"
echo "Python start-up and import; (duckdb query s) is its in-process query + COPY time only."

# ---- outputs must agree ------------------------------------------------------------
echo
ok=1
if [[ "$DUCKDB_ONLY" != 1 ]]; then
    for fmt in csv parquet; do
        "$PY" "$HERE/compare_outputs.py" "$OUT/sf_$fmt.csv" "$OUT/dd_$fmt.csv" \
            "salesflow-$fmt" "duckdb-$fmt" || ok=0
    done
    "$PY" "$HERE/compare_outputs.py" "$OUT/sf_csv.csv" "$OUT/sf_parquet.csv" \
        salesflow-csv salesflow-parquet || ok=0
else
    "$PY" "$HERE/compare_outputs.py" "$OUT/dd_csv.csv" "$OUT/dd_parquet.csv" \
        duckdb-csv duckdb-parquet || ok=0
fi
if [[ "$ok" != 1 ]]; then
    echo "FAIL: outputs disagree (rerun with KEEP=1 to inspect them)" >&2
    exit 1
fi
echo "OK: outputs agree"
