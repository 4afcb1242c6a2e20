#!/usr/bin/env python3
"""Check that two summary CSVs agree.

    compare_outputs.py A.csv B.csv [LABEL_A LABEL_B]

Both must have exactly the header customer_id,frequency,recency,T,monetary_value
and the same set of customers (row order is free). frequency, recency and T must
be equal; monetary_value may differ by floating-point summation order only:
|a - b| <= 1e-9 * max(1, |a|, |b|). Exit 0 when they agree, 1 otherwise.
"""
from __future__ import annotations

import sys

import duckdb

HEADER = ["customer_id", "frequency", "recency", "T", "monetary_value"]
REL_TOL = 1e-9


def read(con: duckdb.DuckDBPyConnection, path: str, name: str) -> list[str]:
    with open(path, newline="") as f:
        header = f.readline().rstrip("\r\n").split(",")
    lit = "'" + path.replace("'", "''") + "'"
    con.execute(
        f"""CREATE TABLE {name} AS SELECT * FROM read_csv({lit}, header = true,
              auto_detect = false, columns = {{'customer_id': 'VARCHAR', 'frequency': 'DOUBLE',
              'recency': 'DOUBLE', 'T': 'DOUBLE', 'monetary_value': 'DOUBLE'}})"""
    )
    return header


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 5):
        print("usage: compare_outputs.py A.csv B.csv [LABEL_A LABEL_B]", file=sys.stderr)
        return 2
    a, b = argv[1], argv[2]
    la, lb = (argv[3], argv[4]) if len(argv) == 5 else ("A", "B")
    con = duckdb.connect()
    bad = []
    for path, name, label in ((a, "a", la), (b, "b", lb)):
        header = read(con, path, name)
        if header != HEADER:
            bad.append(f"{label}: header {','.join(header)} (want {','.join(HEADER)})")
        dups = con.execute(
            f"SELECT count(*) - count(DISTINCT customer_id) FROM {name}"
        ).fetchone()[0]
        if dups:
            bad.append(f"{label}: {dups} duplicate customer rows")
    na, nb = (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("a", "b"))
    only_a, only_b, diff_int, diff_mon, max_abs = con.execute(
        f"""SELECT count(*) FILTER (WHERE b.customer_id IS NULL),
                   count(*) FILTER (WHERE a.customer_id IS NULL),
                   count(*) FILTER (WHERE a.frequency IS DISTINCT FROM b.frequency
                                       OR a.recency IS DISTINCT FROM b.recency
                                       OR a.T IS DISTINCT FROM b.T),
                   count(*) FILTER (WHERE NOT (abs(a.monetary_value - b.monetary_value)
                        <= {REL_TOL} * greatest(1.0, abs(a.monetary_value), abs(b.monetary_value)))),
                   max(abs(a.monetary_value - b.monetary_value))
            FROM a FULL OUTER JOIN b USING (customer_id)"""
    ).fetchone()
    if only_a or only_b:
        bad.append(f"customers only in {la}: {only_a}, only in {lb}: {only_b}")
    if diff_int:
        bad.append(f"{diff_int} customers differ in frequency/recency/T")
    if diff_mon:
        bad.append(f"{diff_mon} customers differ in monetary_value beyond {REL_TOL:g} relative")
    if bad:
        print(f"DIFFER {la} vs {lb} ({na} vs {nb} rows):")
        for line in bad:
            print("  " + line)
        ex = con.execute(
            f"""SELECT customer_id, a.frequency, b.frequency, a.recency, b.recency, a.T, b.T,
                       a.monetary_value, b.monetary_value
                FROM a FULL OUTER JOIN b USING (customer_id)
                WHERE a.customer_id IS NULL OR b.customer_id IS NULL
                   OR a.frequency IS DISTINCT FROM b.frequency
                   OR a.recency IS DISTINCT FROM b.recency OR a.T IS DISTINCT FROM b.T
                   OR NOT (abs(a.monetary_value - b.monetary_value)
                        <= {REL_TOL} * greatest(1.0, abs(a.monetary_value), abs(b.monetary_value)))
                ORDER BY customer_id LIMIT 5"""
        ).fetchall()
        print(f"  first differing rows (customer, {la}/{lb} pairs for f, r, T, m):")
        for r in ex:
            print("   ", r)
        return 1
    print(f"agree   {la} vs {lb}: {na} customers; max |monetary diff| {max_abs or 0.0:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
