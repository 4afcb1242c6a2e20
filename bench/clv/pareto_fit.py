#!/usr/bin/env python3
"""lifetimes' Pareto/NBD fit alone, timed in process.

    pareto_fit.py SUMMARY.csv [OUT.json]

Reads a summary (customer_id,frequency,recency,T[,monetary_value]; salesflow's
summary.csv) and fits lifetimes.ParetoNBDFitter(penalizer_coef=0.0) with its defaults
(Nelder-Mead, tol 1e-4, maxiter 2000, one start). lifetimes draws the start point from
numpy's global random state, so it is seeded (PARETO_SEED, default 0) for repeatability.

stderr, flushed as it goes (run.sh reads these lines, also after a timeout):
  pareto_fit: fit started T s after start      (imports + read_csv before the fit)
  pareto_fit: fit N s                          (the fit alone)
  pareto_fit: params r .. alpha .. s .. beta ..
OUT.json (if given): {"model": "pareto_nbd", "params": {...}, "fit_s": ..., "n": ...}.
"""
from __future__ import annotations

import time

T_START = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from lifetimes import ParetoNBDFitter  # noqa: E402


def log(msg: str) -> None:
    print(f"pareto_fit: {msg}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: pareto_fit.py SUMMARY.csv [OUT.json]", file=sys.stderr)
        return 2
    summary = pd.read_csv(
        argv[1], usecols=["frequency", "recency", "T"], dtype="float64"
    )
    seed = int(os.environ.get("PARETO_SEED", "0"))
    np.random.seed(seed)
    log(f"{len(summary)} customers read")
    log(f"fit started {time.perf_counter() - T_START:.3f} s after start")
    pnbd = ParetoNBDFitter(penalizer_coef=0.0)
    t0 = time.perf_counter()
    pnbd.fit(summary["frequency"], summary["recency"], summary["T"])
    fit_s = time.perf_counter() - t0
    params = {k: float(v) for k, v in pnbd.params_.items()}
    log(f"fit {fit_s:.3f} s")
    log("params " + " ".join(f"{k} {v:.6g}" for k, v in params.items()))
    if len(argv) == 3:
        with open(argv[2], "w") as f:
            json.dump({"model": "pareto_nbd", "params": params, "fit_s": round(fit_s, 4),
                       "n": len(summary), "seed": seed}, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
