#!/usr/bin/env python3
"""The lifetimes peer of `salesflow clv --time-unit day --model bgnbd`: the whole CLV path.

    lifetimes_clv.py ORDERS.csv OUTDIR

1. pandas read_csv, ordered_at parsed by pd.to_datetime(utc=True) (ISO 8601 `...Z`), then
   made naive so that lifetimes' day periods are UTC calendar days, as salesflow's;
2. drop rows with status refunded/cancelled (case-insensitive) or amount < 0;
3. lifetimes.utils.summary_data_from_transaction_data(df, 'customer_id', 'ordered_at',
   monetary_value_col='amount', freq='D') - observation end = the last purchase (default);
4. BetaGeoFitter(penalizer_coef=0.0).fit(frequency, recency, T);
5. GammaGammaFitter(penalizer_coef=0.0).fit on the frequency > 0 rows;
6. for every customer: expected purchases in the next 365 days, P(alive), expected average
   spend, and 12-month CLV at 1 %/month (freq='D': 30 days a month, as salesflow's day unit);
7. OUTDIR/predictions.csv with salesflow's columns
   customer_id,frequency,recency,T,monetary_value,expected_purchases,p_alive,expected_spend,clv
   and OUTDIR/params.json (fitted parameters, status, step timings).

The fitted parameters and the per-step timings go to stderr. Exit status: 0 on success,
3 when lifetimes' BG/NBD or Gamma-Gamma fit fails (ConvergenceError, or non-finite
parameters) - params.json then says so, and nothing is predicted. Anything else is a crash.
"""
from __future__ import annotations

import time

T_START = time.perf_counter()  # before the imports: they are part of the path

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import lifetimes  # noqa: E402
from lifetimes import BetaGeoFitter, GammaGammaFitter  # noqa: E402
from lifetimes.utils import summary_data_from_transaction_data  # noqa: E402

HORIZON_DAYS = 365
CLV_MONTHS = 12
DISCOUNT = 0.01

timings: list[tuple[str, float]] = []


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Step:
    """with Step('name'): ... records the wall time of the block and prints it."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        dt = time.perf_counter() - self.t0
        timings.append((self.name, dt))
        log(f"step {self.name:<22} {dt:10.3f} s")
        return False


def write_params(outdir: str, doc: dict) -> None:
    doc["timings_s"] = {k: round(v, 4) for k, v in timings}
    with open(os.path.join(outdir, "params.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: lifetimes_clv.py ORDERS.csv OUTDIR", file=sys.stderr)
        return 2
    orders, outdir = argv[1], argv[2]
    os.makedirs(outdir, exist_ok=True)
    doc: dict = {"lifetimes": lifetimes.__version__, "numpy": np.__version__,
                 "pandas": pd.__version__, "status": "running"}
    timings.append(("imports", time.perf_counter() - T_START))
    log(f"step {'imports':<22} {timings[-1][1]:10.3f} s")

    with Step("read_csv"):
        df = pd.read_csv(
            orders,
            usecols=["customer_id", "ordered_at", "amount", "status"],
            dtype={"customer_id": str, "amount": "float64", "status": str},
        )
        # Parsed here rather than with read_csv(parse_dates=...): in pandas 1.5 that path
        # takes ~10x longer on `...Z` timestamps; to_datetime(utc=True) is the fast one.
        # Then naive UTC, so that lifetimes' day periods are UTC calendar days.
        df["ordered_at"] = pd.to_datetime(df["ordered_at"], utc=True).dt.tz_localize(None)
    n_rows = len(df)

    with Step("filter purchases"):
        status = df["status"].str.lower()
        df = df[~status.isin(["refunded", "cancelled"]) & (df["amount"] >= 0)]
    log(f"orders {n_rows}, purchases {len(df)}")

    with Step("summary"):
        summary = summary_data_from_transaction_data(
            df, "customer_id", "ordered_at", monetary_value_col="amount", freq="D"
        )
    n = len(summary)
    repeat = int((summary["frequency"] > 0).sum())
    doc.update(orders=n_rows, purchases=len(df), customers=n, repeat_customers=repeat)
    log(f"customers {n}, repeat customers {repeat}")
    del df, status

    f, r, t, m = (summary[c] for c in ("frequency", "recency", "T", "monetary_value"))

    bgf = BetaGeoFitter(penalizer_coef=0.0)
    try:
        with Step("bgnbd fit"):
            bgf.fit(f, r, t)
    except Exception as e:  # lifetimes.utils.ConvergenceError, or a numerical failure
        doc.update(status="bgnbd fit failed", error=f"{type(e).__name__}: {' '.join(str(e).split())}")
        # Step's __exit__ has recorded the time spent until the failure
        log(f"lifetimes BG/NBD fit FAILED after {timings[-1][1]:.1f} s: {doc['error']}")
        write_params(outdir, doc)
        return 3
    bg = {k: float(v) for k, v in bgf.params_.items()}
    doc["bgnbd"] = bg
    log("BG/NBD params (lifetimes): " + ", ".join(f"{k} {v:.6g}" for k, v in bg.items()))
    if not all(np.isfinite(v) and v > 0 for v in bg.values()):
        doc.update(status="bgnbd fit failed", error=f"non-finite or non-positive parameters {bg}")
        log(f"lifetimes BG/NBD fit FAILED: {doc['error']}")
        write_params(outdir, doc)
        return 3

    ggf = GammaGammaFitter(penalizer_coef=0.0)
    rep = summary[f > 0]
    try:
        with Step("gamma-gamma fit"):
            ggf.fit(rep["frequency"], rep["monetary_value"])
    except Exception as e:
        doc.update(status="gamma-gamma fit failed", error=f"{type(e).__name__}: {' '.join(str(e).split())}")
        log(f"lifetimes Gamma-Gamma fit FAILED: {doc['error']}")
        write_params(outdir, doc)
        return 3
    gg = {k: float(v) for k, v in ggf.params_.items()}
    doc["gamma_gamma"] = gg
    log("Gamma-Gamma params (lifetimes): " + ", ".join(f"{k} {v:.6g}" for k, v in gg.items()))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # counted as non-finite below
        with Step("expected purchases"):
            expected = bgf.conditional_expected_number_of_purchases_up_to_time(HORIZON_DAYS, f, r, t)
        with Step("p_alive"):
            alive = bgf.conditional_probability_alive(f, r, t)
        with Step("expected spend"):
            spend = ggf.conditional_expected_average_profit(f, m)
        with Step("clv"):
            clv = ggf.customer_lifetime_value(
                bgf, f, r, t, m, time=CLV_MONTHS, discount_rate=DISCOUNT, freq="D"
            )

    with Step("write csv"):
        out = pd.DataFrame(
            {
                "frequency": f,
                "recency": r,
                "T": t,
                "monetary_value": m,
                "expected_purchases": np.asarray(expected, dtype=float),
                "p_alive": np.asarray(alive, dtype=float),
                "expected_spend": np.asarray(spend, dtype=float),
                "clv": np.asarray(clv, dtype=float),
            },
            index=summary.index,
        )
        out.index.name = "customer_id"
        out.to_csv(os.path.join(outdir, "predictions.csv"))

    bad = {c: int((~np.isfinite(out[c])).sum())
           for c in ("expected_purchases", "p_alive", "expected_spend", "clv")}
    doc["non_finite_predictions"] = bad
    if any(bad.values()):
        log(f"warning: lifetimes produced non-finite predictions: {bad}")
    doc["status"] = "ok"
    total = time.perf_counter() - T_START
    doc["total_in_process_s"] = round(total, 4)
    write_params(outdir, doc)
    log(f"lifetimes clv total (in process) {total:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
