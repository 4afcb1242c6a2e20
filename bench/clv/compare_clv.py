#!/usr/bin/env python3
"""Checks after the CLV benchmark: do salesflow and lifetimes agree?

    compare_clv.py SF_DIR LT_DIR [--sample N] [--pareto-sf FIT.json] [--pareto-lt FIT.json]

SF_DIR: `salesflow clv --out` (summary.csv, predictions.csv, fit_bg_nbd.json,
fit_gamma_gamma.json); LT_DIR: lifetimes_clv.py's (predictions.csv, params.json).

1. Customers and summaries: the same customers, equal frequency/recency/T, monetary value
   within 1e-9 relative (summation order).                                    [FAIL if not]
2. BG/NBD and Gamma-Gamma parameters of both fits, with the relative difference, and the
   BG/NBD log-likelihood of each parameter set evaluated by lifetimes' own likelihood on the
   same customers (which optimum is higher). Parameters should agree to 1e-3 relative when
   both converged.                          [FAIL if they do not AND salesflow's optimum is
                                            lower; a WARNING when salesflow's is higher]
3. Predictions, each tool with its own fit, over every customer present in both: maximum
   relative difference of expected purchases, P(alive), expected spend and CLV. [reported]
4. The formulas alone: lifetimes' prediction functions evaluated with salesflow's fitted
   parameters for a random sample of N customers (default 10000, seeded) against salesflow's
   predictions.                                      [FAIL beyond 1e-6 relative]
5. With --pareto-sf/--pareto-lt: both Pareto/NBD fits' parameters and log-likelihoods
   (lifetimes' likelihood on salesflow's summary.csv).                        [reported]

Relative difference: |a - b| / max(|a|, |b|, 1e-12). Exit 0 when nothing FAILs, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

PARAM_TOL = 1e-3
FORMULA_TOL = 1e-6
SUMMARY_TOL = 1e-9
PRED_COLS = ["expected_purchases", "p_alive", "expected_spend", "clv"]
HORIZON_DAYS, CLV_MONTHS, DISCOUNT = 365, 12, 0.01


def rel(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)


def load_json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def read_predictions(path: str) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"customer_id": str})
    missing = {"customer_id", "frequency", "recency", "T", "monetary_value", *PRED_COLS} - set(df)
    if missing:
        raise SystemExit(f"{path}: missing columns {sorted(missing)}")
    return df.set_index("customer_id")


def bg_mean_ll(params: dict, f, r, t) -> float:
    """Mean BG/NBD log-likelihood per customer, lifetimes' formula, times in days."""
    logp = np.log([params["r"], params["alpha"], params["a"], params["b"]])
    w = np.ones(len(f))
    return -float(BetaGeoFitter._negative_log_likelihood(logp, f, r, t, w, 0.0))


def pareto_mean_ll(params: dict, f, r, t) -> float:
    """Mean Pareto/NBD log-likelihood per customer, lifetimes' formula, times in days."""
    p = [params["r"], params["alpha"], params["s"], params["beta"]]
    w = np.ones(len(f))
    return -float(ParetoNBDFitter._negative_log_likelihood(p, f.astype(int), r, t, w, 0.0)) / len(f)


def print_params(title: str, sf: dict, lt: dict, names: list[tuple[str, str]]) -> float:
    print(f"{title}")
    print(f"  {'param':<8} {'salesflow':>16} {'lifetimes':>16} {'rel diff':>10}")
    worst = 0.0
    for sf_name, lt_name in names:
        a, b = sf.get(sf_name, np.nan), lt.get(lt_name, np.nan)
        d = float(rel(a, b)) if np.isfinite(a) and np.isfinite(b) else np.inf
        worst = max(worst, d)
        label = sf_name if sf_name == lt_name else f"{sf_name}/{lt_name}"
        print(f"  {label:<8} {a:16.8g} {b:16.8g} {d:10.2e}")
    return worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sf_dir")
    ap.add_argument("lt_dir")
    ap.add_argument("--sample", type=int, default=10000)
    ap.add_argument("--pareto-sf")
    ap.add_argument("--pareto-lt")
    args = ap.parse_args()
    fails: list[str] = []
    warns: list[str] = []

    lt_doc = load_json(os.path.join(args.lt_dir, "params.json"))
    sf_bg_doc = load_json(os.path.join(args.sf_dir, "fit_bg_nbd.json"))
    gg_path = os.path.join(args.sf_dir, "fit_gamma_gamma.json")
    sf_gg_doc = load_json(gg_path) if os.path.exists(gg_path) else None
    sf = read_predictions(os.path.join(args.sf_dir, "predictions.csv"))
    lt_ok = lt_doc.get("status") == "ok"
    lt = read_predictions(os.path.join(args.lt_dir, "predictions.csv")) if lt_ok else None

    # ---- 1. customers and summaries ---------------------------------------------------
    if lt is not None:
        both = sf.index.intersection(lt.index)
        only_sf, only_lt = len(sf) - len(both), len(lt) - len(both)
        print(f"customers: salesflow {len(sf)}, lifetimes {len(lt)}, in both {len(both)}")
        if only_sf or only_lt or sf.index.has_duplicates or lt.index.has_duplicates:
            fails.append(f"customer sets differ: only salesflow {only_sf}, only lifetimes {only_lt}")
        a, b = sf.loc[both], lt.loc[both]
        bad_int = int(((a[["frequency", "recency", "T"]] - b[["frequency", "recency", "T"]]).abs()
                       > 1e-9).any(axis=1).sum())
        d_mon = rel(a["monetary_value"], b["monetary_value"])
        bad_mon = int((d_mon > SUMMARY_TOL).sum())
        print(f"summary: {bad_int} customers differ in frequency/recency/T; monetary value max "
              f"rel diff {d_mon.max() if len(d_mon) else 0:.2e} ({bad_mon} beyond {SUMMARY_TOL:g})")
        if bad_int or bad_mon:
            fails.append(f"summaries differ ({bad_int} in frequency/recency/T, {bad_mon} in monetary value)")
            ex = pd.concat([a.loc[:, ["frequency", "recency", "T", "monetary_value"]].add_prefix("sf_"),
                            b.loc[:, ["frequency", "recency", "T", "monetary_value"]].add_prefix("lt_")],
                           axis=1)
            diff = ex[(ex.sf_frequency != ex.lt_frequency) | (ex.sf_recency != ex.lt_recency)
                      | (ex.sf_T != ex.lt_T) | (d_mon > SUMMARY_TOL)]
            print("  first differing customers:\n" + diff.head(5).to_string())
    else:
        both = None
        print(f"lifetimes: {lt_doc.get('status')}: {lt_doc.get('error', '')} - its fits and "
              "predictions are not compared")

    # ---- 2. parameters ------------------------------------------------------------------
    sf_bg = sf_bg_doc["params"]
    sf_conv = bool(sf_bg_doc.get("converged", False))
    print()
    if lt_ok:
        worst = print_params(
            f"BG/NBD parameters (salesflow {'converged' if sf_conv else 'DID NOT CONVERGE'}, "
            f"{sf_bg_doc.get('iterations', '?')} iterations; lifetimes {lt_doc['status']}):",
            sf_bg, lt_doc["bgnbd"], [(k, k) for k in ("r", "alpha", "a", "b")])
        f, r, t = (sf[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        ll_sf, ll_lt = bg_mean_ll(sf_bg, f, r, t), bg_mean_ll(lt_doc["bgnbd"], f, r, t)
        print(f"  log-likelihood (lifetimes' formula, {len(f)} customers, days): salesflow's params "
              f"{ll_sf * len(f):.4f}, lifetimes' {ll_lt * len(f):.4f} (difference "
              f"{(ll_sf - ll_lt) * len(f):+.4g})")
        if worst <= PARAM_TOL and sf_conv:
            print(f"  agree to {worst:.1e} relative (tolerance {PARAM_TOL:g})")
        elif not sf_conv:
            fails.append("salesflow's BG/NBD fit did not converge")
        elif ll_sf >= ll_lt - 1e-12 * abs(ll_lt):
            warns.append(f"BG/NBD parameters differ by {worst:.1e} relative (> {PARAM_TOL:g}), but "
                         "salesflow's optimum has the higher (or equal) log-likelihood: lifetimes "
                         "stopped short of the maximum")
        else:
            fails.append(f"BG/NBD parameters differ by {worst:.1e} relative and salesflow's "
                         "log-likelihood is the lower one")
        if sf_gg_doc is not None and "gamma_gamma" in lt_doc:
            print()
            w = print_params("Gamma-Gamma parameters:", sf_gg_doc["params"], lt_doc["gamma_gamma"],
                             [("p", "p"), ("q", "q"), ("gamma", "v")])
            if w > PARAM_TOL:
                warns.append(f"Gamma-Gamma parameters differ by {w:.1e} relative (> {PARAM_TOL:g})")
            else:
                print(f"  agree to {w:.1e} relative")
    else:
        print("BG/NBD parameters (salesflow): "
              + ", ".join(f"{k} {v:.8g}" for k, v in sf_bg.items()) + " - lifetimes: none")

    # ---- 3. predictions of each tool's own fit ----------------------------------------------
    if lt is not None and len(both):
        print(f"\npredictions, each with its own fit, over the {len(both)} customers in both:")
        a, b = sf.loc[both], lt.loc[both]
        for c in PRED_COLS:
            d = rel(a[c], b[c])
            nan_sf, nan_lt = int((~np.isfinite(a[c])).sum()), int((~np.isfinite(b[c])).sum())
            d = np.where(np.isfinite(d), d, np.inf)
            i = int(np.argmax(d))
            extra = f"; non-finite: salesflow {nan_sf}, lifetimes {nan_lt}" if nan_sf or nan_lt else ""
            print(f"  {c:<19} max rel diff {d[i]:.2e} (customer {both[i]}: {a[c].iloc[i]:.8g} vs "
                  f"{b[c].iloc[i]:.8g}); median {np.median(d):.1e}{extra}")

    # ---- 4. formulas with the same parameters, on a sample ---------------------------------
    n = min(args.sample, len(sf))
    if n > 0:
        rng = np.random.default_rng(11)
        s = sf.iloc[np.sort(rng.choice(len(sf), size=n, replace=False))]
        bgf = BetaGeoFitter()
        bgf.params_ = pd.Series({k: float(sf_bg[k]) for k in ("r", "alpha", "a", "b")})
        bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time
        f, r, t, m = (s[c] for c in ("frequency", "recency", "T", "monetary_value"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = {"expected_purchases": bgf.conditional_expected_number_of_purchases_up_to_time(
                       HORIZON_DAYS, f, r, t),
                   "p_alive": bgf.conditional_probability_alive(f, r, t)}
            if sf_gg_doc is not None:
                g = sf_gg_doc["params"]
                ggf = GammaGammaFitter()
                ggf.params_ = pd.Series({"p": g["p"], "q": g["q"], "v": g["gamma"]})
                ref["expected_spend"] = ggf.conditional_expected_average_profit(f, m)
                ref["clv"] = ggf.customer_lifetime_value(bgf, f, r, t, m, time=CLV_MONTHS,
                                                         discount_rate=DISCOUNT, freq="D")
        print(f"\nformulas: lifetimes' predictions with salesflow's parameters, {n} sampled customers:")
        for c, v in ref.items():
            d = rel(s[c], np.asarray(v, dtype=float))
            d = np.where(np.isfinite(d), d, np.inf)
            i = int(np.argmax(d))
            print(f"  {c:<19} max rel diff {d[i]:.2e} (customer {s.index[i]}: {s[c].iloc[i]:.10g} vs "
                  f"{np.asarray(v)[i]:.10g})")
            if d[i] > FORMULA_TOL:
                fails.append(f"{c}: salesflow's formula differs from lifetimes' by {d[i]:.1e} relative "
                             f"with the same parameters (> {FORMULA_TOL:g})")

    # ---- 5. Pareto/NBD ------------------------------------------------------------------
    if args.pareto_sf and os.path.exists(args.pareto_sf):
        psf = load_json(args.pareto_sf)
        plt = load_json(args.pareto_lt) if args.pareto_lt and os.path.exists(args.pareto_lt) else None
        print()
        summ = pd.read_csv(os.path.join(args.sf_dir, "summary.csv"),
                           usecols=["frequency", "recency", "T"], dtype="float64")
        f, r, t = (summ[c].to_numpy() for c in ("frequency", "recency", "T"))
        conv = "converged" if psf.get("converged") else "DID NOT CONVERGE"
        if plt is not None:
            worst = print_params(f"Pareto/NBD parameters (salesflow {conv}; lifetimes Nelder-Mead, "
                                 "tol 1e-4):", psf["params"], plt["params"],
                                 [(k, k) for k in ("r", "alpha", "s", "beta")])
            with np.errstate(all="ignore"):
                ll_sf, ll_lt = pareto_mean_ll(psf["params"], f, r, t), pareto_mean_ll(plt["params"], f, r, t)
            print(f"  log-likelihood (lifetimes' formula, {len(f)} customers): salesflow's params "
                  f"{ll_sf * len(f):.4f}, lifetimes' {ll_lt * len(f):.4f} (difference "
                  f"{(ll_sf - ll_lt) * len(f):+.4g}); max rel param diff {worst:.1e}")
            if not psf.get("converged"):
                fails.append("salesflow's Pareto/NBD fit did not converge")
        else:
            print(f"Pareto/NBD parameters (salesflow {conv}): "
                  + ", ".join(f"{k} {v:.8g}" for k, v in psf["params"].items())
                  + " - lifetimes: no fit (timed out, failed or skipped: see above)")

    print()
    for w in warns:
        print(f"WARNING: {w}")
    for x in fails:
        print(f"FAIL: {x}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
