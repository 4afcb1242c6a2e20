#!/usr/bin/env bash
# Benchmark: the CRM store on SQLite and PostgreSQL.
#  1. Import 1M customers from CSV with `salesflow import` (validation, duplicate checks,
#     audit entries, undo bookkeeping, one transaction), beside the databases' own bulk
#     loaders on the same file into a bare table (sqlite3 .import, psql \copy): the floor
#     any importer stands on. Target: under 60 s on each database.
#  2. Import 1M deals (stage names, customers by external id, owners by e-mail resolved).
#  3. Serve the API and load it with wrk at several concurrencies: a filtered, sorted list
#     page (target p99 < 50 ms) and a pipeline's kanban summary (target < 200 ms).
#
#   bench/crm/run.sh
#
# Environment overrides:
#   N          customers and deals                        (default 1000000)
#   SALESFLOW  salesflow binary                           (default <repo>/target/release/salesflow)
#   DATA       input folder, generated if missing         (default /work/bench-data/crm/$N)
#   WORK       scratch folder for the SQLite database     (default /tmp/bench-crm)
#   PG_ADMIN   PostgreSQL URL of a role with CREATEDB     (default postgres://salesflow:salesflow@127.0.0.1:5432/salesflow_test)
#   DURATION   seconds per wrk run                        (default 10)
#   BACKENDS   which databases                            (default "sqlite postgres")
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
N="${N:-1000000}"
SALESFLOW="${SALESFLOW:-$REPO/target/release/salesflow}"
DATA="${DATA:-/work/bench-data/crm/$N}"
WORK="${WORK:-/tmp/bench-crm}"
PG_ADMIN="${PG_ADMIN:-postgres://salesflow:salesflow@127.0.0.1:5432/salesflow_test}"
DURATION="${DURATION:-10}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_BENCH_DB=salesflow_bench
PG_URL="${PG_ADMIN%/*}/$PG_BENCH_DB"

die() { echo "error: $*" >&2; exit 1; }
[[ -x "$SALESFLOW" ]] || die "no salesflow at $SALESFLOW: cargo build --release -p salesflow-cli"
for tool in wrk sqlite3 psql python3 curl; do
    command -v "$tool" >/dev/null || die "$tool not found: apt-get install -y wrk sqlite3 postgresql-client curl"
done

mkdir -p "$DATA" "$WORK"
if [[ ! -f "$DATA/customers.csv" || ! -f "$DATA/deals.csv" ]]; then
    echo "generating $N customers and deals into $DATA ..."
    python3 "$HERE/make_crm.py" "$DATA" "$N"
fi

seconds() { local start=$1; python3 -c "import time; print(f'{time.time() - $start:.2f}')"; }
now() { python3 -c 'import time; print(time.time())'; }

psql_admin() { psql "$PG_ADMIN" -v ON_ERROR_STOP=1 -qtA "$@"; }

fresh_db() {
    case "$1" in
        sqlite) rm -f "$WORK"/crm.db*; echo "sqlite://$WORK/crm.db" ;;
        postgres)
            psql_admin -c "DROP DATABASE IF EXISTS $PG_BENCH_DB WITH (FORCE)" >/dev/null
            psql_admin -c "CREATE DATABASE $PG_BENCH_DB" >/dev/null
            echo "$PG_URL" ;;
    esac
}

# The databases' own bulk load of the same file into a bare table of the same columns.
floor_load() {
    case "$1" in
        sqlite)
            rm -f "$WORK/floor.db"
            sqlite3 "$WORK/floor.db" "CREATE TABLE c (customer_id TEXT, name TEXT, email TEXT, phone TEXT, segment TEXT);" \
                ".mode csv" ".import --skip 1 $DATA/customers.csv c" ;;
        postgres)
            psql "$PG_URL" -v ON_ERROR_STOP=1 -q -c "CREATE TABLE floor_c (customer_id TEXT, name TEXT, email TEXT, phone TEXT, segment TEXT)" \
                -c "\\copy floor_c FROM '$DATA/customers.csv' WITH (FORMAT csv, HEADER true)" ;;
    esac
}

wrk_line() { # label url token connections
    local out
    out="$(wrk -t"$(( $4 < 2 ? 1 : 2 ))" -c"$4" -d"${DURATION}s" --latency -H "Authorization: Bearer $3" "$2")"
    local rps p50 p99
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    # "Non-2xx or 3xx responses: N" and "Socket errors: connect N, read N, write N, timeout N".
    local errors; errors="$(awk '/Non-2xx/ {printf "non-2xx %s ", $NF} /Socket errors/ {sub(/^ *Socket errors: /, ""); printf "socket errors (%s) ", $0}' <<<"$out")"
    printf '  %-34s c=%-3s %9s req/s  p50 %8s  p99 %8s%s\n' "$1" "$4" "$rps" "$p50" "$p99" "${errors:+  ERRORS: $errors}"
}

echo "== CRM benchmark: N=$N, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
for backend in $BACKENDS; do
    echo "-- $backend"
    url="$(fresh_db "$backend")"
    start=$(now); "$SALESFLOW" import "$DATA/customers.csv" --kind customers --db "$url" -q >/dev/null; import_s=$(seconds "$start")
    start=$(now); floor_load "$backend"; floor_s=$(seconds "$start")
    ratio=$(python3 -c "print(f'{$import_s / $floor_s:.2f}')")
    echo "  import $N customers: salesflow ${import_s} s, bare bulk load ${floor_s} s -> ratio ${ratio}x (target: salesflow < 60 s)"

    for i in $(seq 0 19); do
        "$SALESFLOW" user create --db "$url" --email "rep$(printf %02d "$i")@bench.io" --name "Rep $i" \
            --role sales --team "team$((i % 4))" >/dev/null
    done
    start=$(now); "$SALESFLOW" import "$DATA/deals.csv" --kind deals --db "$url" -q >/dev/null; deals_s=$(seconds "$start")
    echo "  import $N deals (stages by name, customers by external id, owners by e-mail): ${deals_s} s"

    "$SALESFLOW" user create --db "$url" --email bench-admin@bench.io --name Bench --role admin >/dev/null
    token="$("$SALESFLOW" token create --db "$url" --user bench-admin@bench.io --scopes read | awk '/shown once/ {print $NF}')"
    sales_token="$("$SALESFLOW" token create --db "$url" --user rep03@bench.io --scopes read | awk '/shown once/ {print $NF}')"
    "$SALESFLOW" serve --db "$url" --bind 127.0.0.1:18080 >/dev/null 2>&1 &
    server=$!
    trap 'kill $server 2>/dev/null || true' EXIT
    for _ in $(seq 50); do curl -sf -o /dev/null -H "Authorization: Bearer $token" http://127.0.0.1:18080/api/v1/me && break; sleep 0.2; done
    api=http://127.0.0.1:18080/api/v1
    demo="$(curl -sf -H "Authorization: Bearer $token" "$api/stages?name=Demo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')"
    pipeline="$(curl -sf -H "Authorization: Bearer $token" "$api/pipelines" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')"
    list="$api/deals?stage_id=$demo&amount%5Bgte%5D=1000&sort=-amount&limit=50"
    curl -sf -H "Authorization: Bearer $token" "$list&total=true" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("  list check:", len(d["data"]), "of", d["total"], "deals in Demo with amount >= 1000; first amount", d["data"][0]["amount"])'
    for c in 1 4 16; do
        wrk_line "list: stage + amount>=, by -amount" "$list" "$token" "$c"
    done
    wrk_line "same list as a sales user (team)" "$list" "$sales_token" 4
    wrk_line "list with total count" "$list&total=true" "$token" 4
    for c in 1 4 16; do
        wrk_line "kanban of the pipeline" "$api/pipelines/$pipeline/kanban" "$token" "$c"
    done
    kill $server; wait $server 2>/dev/null || true
    trap - EXIT
done
