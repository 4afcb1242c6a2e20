#!/usr/bin/env python3
"""Validate the benchmark's DuckDB summary SQL on the CDNOW reference data.

Runs `duckdb_summary.summary_sql` (the same query the benchmark times) with
time unit = week (days / 7), purchases merged per day, observation (calibration)
end 1997-09-30 inclusive, and compares with the published lifetimes summaries:

  cdnow_customers_summary.csv                     ID,frequency,recency,T (2 dp)
  cdnow_customers_summary_with_transactions.csv   ID,x,t_x,T,zbar      (2 dp)

Customer = master id (column 1); the reference ID is the sample id (column 2).
Exit 0 when every customer matches to two decimals, 1 otherwise.

    check_cdnow.py [-v] [DATA_DIR]   (default /work/shared/data/cdnow)

Rounding: the reference zbar is the exact mean of the cent amounts rounded
half AWAY FROM ZERO. 140 customers have an exact tie (x.xx5). A double mean
sits just above or below the tie depending on summation order, so
'%.2f'/round() (ties-to-even on the binary value) misses 69 of them, and
half-up on the shortest repr still misses 17 (e.g. 26.744999999999997 for
26.745). Rounding to 15 significant digits first, then half away from zero
(Excel's behaviour), reproduces all 2357.
"""
from __future__ import annotations

import csv
import os
import sys
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import duckdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from duckdb_summary import summary_sql  # noqa: E402


def load_log(path: str) -> list[tuple[str, str, str, int, float]]:
    rows = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            master, sample, date, cds, dollars = p
            iso = f"{date[:4]}-{date[4:6]}-{date[6:]}"
            rows.append((master, sample, iso, int(cds), float(dollars)))
    return rows


def load_ref(path: str) -> dict[str, list[str]]:
    with open(path, newline="") as f:
        r = csv.reader(f)
        next(r)
        return {row[0].strip(): [c.strip() for c in row[1:]] for row in r if row}


def r2_binary(x: float) -> str:
    """Python's round()/'%.2f': correctly rounded from the exact binary value (ties -> even)."""
    return f"{x:.2f}"


def r2_decimal_half_up(x: float) -> str:
    """Half away from zero on the shortest decimal repr of x (17 significant digits)."""
    return str(Decimal(repr(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def r2_15sig_half_up(x: float) -> str:
    """Round to 15 significant digits first, then half away from zero (what Excel does)."""
    return str(Decimal(f"{x:.15g}").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def r2_exact_half_up(q: Fraction) -> str:
    """Half away from zero of an exact rational (the mean of the cent amounts)."""
    cents = q * 100
    n = (abs(cents.numerator) * 2 + cents.denominator) // (2 * cents.denominator)
    n = n if cents >= 0 else -n
    return f"{'-' if n < 0 else ''}{abs(n) // 100}.{abs(n) % 100:02d}"


def exact_means(log, end="1997-09-30") -> dict[str, Fraction]:
    """Independent pure-Python exact monetary value per master id (dollars as decimals)."""
    raw = {}
    with open(log) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            master, _, date, _, dollars = p
            if date > end.replace("-", "") or Fraction(dollars) < 0:
                continue
            raw.setdefault(master, {}).setdefault(date, Fraction(0))
            raw[master][date] += Fraction(dollars)
    out = {}
    for c, days in raw.items():
        ks = sorted(days)
        rep = [days[k] for k in ks[1:]]
        out[c] = sum(rep, Fraction(0)) / len(rep) if rep else Fraction(0)
    return out


def main() -> int:
    args = [a for a in sys.argv[1:] if a not in ("-v", "--verbose")]
    verbose = len(args) != len(sys.argv) - 1
    d = args[0] if args else "/work/shared/data/cdnow"
    log_path = os.path.join(d, "CDNOW_sample.txt")
    log = load_log(log_path)
    ref = load_ref(os.path.join(d, "cdnow_customers_summary.csv"))
    ref_z = load_ref(os.path.join(d, "cdnow_customers_summary_with_transactions.csv"))
    exact = exact_means(log_path)

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE cdnow(customer_id VARCHAR, sample_id VARCHAR, day DATE,"
        " cds INTEGER, amount DOUBLE)"
    )
    con.executemany("INSERT INTO cdnow VALUES (?, ?, CAST(? AS DATE), ?, ?)", log)
    sql = summary_sql(
        "cdnow",
        day_expr="day",
        purchase_filter="amount >= 0",  # CDNOW has no status column
        observation_end="DATE '1997-09-30'",
        unit_days=7,
    )
    rows = con.execute(
        f"""SELECT s.*, m.sample_id FROM ({sql}) s
            JOIN (SELECT DISTINCT customer_id, sample_id FROM cdnow) m USING (customer_id)"""
    ).fetchall()
    # keyed by sample id as an integer, as the references are ("0001" -> "1")
    ours = {str(int(r[5])): r for r in rows}

    problems: list[str] = []
    ties: list[str] = []
    if set(ours) != set(ref) or set(ref) != set(ref_z):
        problems.append(
            f"customer sets differ: ours {len(ours)}, summary {len(ref)}, zbar {len(ref_z)}; "
            f"only ours {sorted(set(ours) - set(ref))[:10]}, "
            f"only reference {sorted(set(ref) - set(ours))[:10]}"
        )
    rounders = {
        "'%.2f' (binary, ties-even)": r2_binary,
        "shortest-repr half-up": r2_decimal_half_up,
        "15-sig-digit half-up": r2_15sig_half_up,
    }
    z_ok = {k: 0 for k in rounders}
    z_bad: dict[str, list[str]] = {k: [] for k in rounders}
    exact_ok = 0
    n_freq = n_rec = n_t = 0
    for sid in sorted(ours, key=int):
        master, freq, rec, t, mon, _ = ours[sid]
        if sid not in ref or sid not in ref_z:
            continue
        rf, rr, rt = ref[sid]
        zx, ztx, zt, zbar = ref_z[sid]
        if (int(zx), f"{float(ztx):.2f}", f"{float(zt):.2f}") != (
            int(rf), f"{float(rr):.2f}", f"{float(rt):.2f}"
        ):
            problems.append(f"ID {sid}: the two reference files disagree")
        ok_f, ok_r, ok_t = int(rf) == freq, f"{rec:.2f}" == f"{float(rr):.2f}", f"{t:.2f}" == f"{float(rt):.2f}"
        n_freq += ok_f
        n_rec += ok_r
        n_t += ok_t
        if not (ok_f and ok_r and ok_t):
            problems.append(f"ID {sid}: ours f={freq} r={rec!r} T={t!r}, reference {rf},{rr},{rt}")
        want = f"{float(zbar):.2f}"
        for name, fn in rounders.items():
            if fn(mon) == want:
                z_ok[name] += 1
            else:
                z_bad[name].append(sid)
        ex = exact[master]
        exact_ok += r2_exact_half_up(ex) == want
        if abs(float(ex) - mon) > 1e-9 * max(1.0, abs(mon)):
            problems.append(f"ID {sid}: DuckDB monetary {mon!r} != exact mean {float(ex)!r}")
        if (ex * 1000).denominator == 1 and (ex * 1000).numerator % 10 == 5:
            ties.append(
                f"ID {sid}: exact {float(ex):.3f}, DuckDB double {mon!r}, '%.2f' -> {r2_binary(mon)},"
                f" 15-sig half-up -> {r2_15sig_half_up(mon)}, reference {zbar}"
            )

    n = len(ref)
    print(f"customers: ours {len(ours)}, summary reference {n}, zbar reference {len(ref_z)}")
    print(f"  frequency           {n_freq}/{n} match")
    print(f"  recency (weeks,2dp) {n_rec}/{n} match")
    print(f"  T (weeks, 2dp)      {n_t}/{n} match")
    for name in rounders:
        bad = z_bad[name]
        print(f"  zbar via {name:28s} {z_ok[name]}/{len(ref_z)} match"
              + (f"; mismatching IDs: {' '.join(bad)}" if bad else ""))
    print(f"  zbar via exact rational mean, half-up: {exact_ok}/{len(ref_z)} match")
    print(f"monetary values that are exact ties at the 3rd decimal (x.xx5): {len(ties)}"
          f" (all rounded half away from zero in the reference; -v lists them)")
    if verbose:
        for s in ties:
            print("  " + s)
    # Verdict: the reference rounds half away from zero; a double mean of cent
    # amounts must be rounded at 15 significant digits first to recover the tie.
    if z_bad["15-sig-digit half-up"]:
        problems.append("zbar: 15-sig-digit half-up rounding does not reproduce the reference")
    if problems:
        print(f"MISMATCH: {len(problems)} problem(s)")
        for p in problems[:50]:
            print("  " + p)
        return 1
    print("OK: frequency, recency, T and zbar (rounded half-up at 15 significant digits)"
          " match the references to 2 decimals for every customer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
