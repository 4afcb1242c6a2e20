#!/usr/bin/env python3
"""Fake orders in the `salesflow demo --orders-only` layout, for testing the
benchmark's plumbing without the salesflow binary. NOT the benchmark's input.

    fake_orders.py OUT_DIR CUSTOMERS [SEED]

writes OUT_DIR/csv/orders.csv and OUT_DIR/parquet/orders.parquet with columns
customer_id,order_id,ordered_at,amount,currency,channel,status
(ISO 8601 UTC `...Z` timestamps in the CSV, Timestamp(us, UTC) in Parquet).
About 4 orders per customer; ~2% refunded (negative amount), ~1% cancelled,
a few upper-case statuses and same-day repeat orders to exercise the rules.
"""
from __future__ import annotations

import os
import sys

import duckdb


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print("usage: fake_orders.py OUT_DIR CUSTOMERS [SEED]", file=sys.stderr)
        return 2
    out, n = argv[1], int(argv[2])
    seed = int(argv[3]) if len(argv) == 4 else 7
    os.makedirs(os.path.join(out, "csv"), exist_ok=True)
    os.makedirs(os.path.join(out, "parquet"), exist_ok=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET threads = 1")  # setseed is only reproducible single-threaded
    con.execute(f"SELECT setseed({(seed % 1000) / 1000.0})")
    con.execute(
        f"""
CREATE TABLE orders AS
WITH c AS (
    SELECT i,
           'C' || lpad(CAST(i AS VARCHAR), 8, '0') AS customer_id,
           1 + CAST(floor(-ln(1 - random()) * 3) AS INTEGER) AS n_orders,
           TIMESTAMP '2022-01-01' + to_days(CAST(floor(random() * 900) AS INTEGER)) AS start
    FROM range({n}) t(i)
),
o AS (
    SELECT c.customer_id, c.i, k,
           c.start
             + to_days(CASE WHEN k = 0 THEN 0
                            WHEN random() < 0.1 THEN 0          -- same day as the first order
                            ELSE CAST(floor(random() * 400) AS INTEGER) END)
             + to_seconds(CAST(floor(random() * 86400) AS BIGINT)) AS ts,
           random() AS u,
           round(exp(3 + 0.8 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())), 2) AS amt
    FROM c, range(c.n_orders) r(k)
)
SELECT customer_id,
       'O' || lpad(CAST(row_number() OVER (ORDER BY i, k) AS VARCHAR), 10, '0') AS order_id,
       ts,
       CASE WHEN u < 0.02 THEN -amt ELSE amt END AS amount,
       'USD' AS currency,
       CASE WHEN u * 1000 % 3 < 1 THEN 'web' WHEN u * 1000 % 3 < 2 THEN 'store' ELSE 'app' END AS channel,
       CASE WHEN u < 0.019 THEN 'refunded' WHEN u < 0.02 THEN 'REFUNDED'
            WHEN u < 0.03 THEN 'cancelled' ELSE 'completed' END AS status
FROM o
ORDER BY ts
"""
    )
    csv_path = os.path.join(out, "csv", "orders.csv")
    pq_path = os.path.join(out, "parquet", "orders.parquet")
    con.execute(
        f"""COPY (SELECT customer_id, order_id, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ordered_at,
                         amount, currency, channel, status FROM orders)
            TO '{csv_path}' (FORMAT csv, HEADER true)"""
    )
    con.execute(
        f"""COPY (SELECT customer_id, order_id, CAST(ts AS TIMESTAMPTZ) AS ordered_at,
                         amount, currency, channel, status FROM orders)
            TO '{pq_path}' (FORMAT parquet)"""
    )
    rows = con.execute("SELECT count(*) FROM orders").fetchone()[0]
    print(f"wrote {rows} orders of {n} customers to {csv_path} and {pq_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
