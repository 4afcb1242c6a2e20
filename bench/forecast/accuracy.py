#!/usr/bin/env python3
"""Holdout accuracy of forecast files against the held-out actuals.

    accuracy.py ACTUALS_CSV TRAIN_CSV [NAME=]FORECAST... [--m 12] [--tsv] [--models NAME=CSV]
                [--allow-missing]

ACTUALS_CSV and TRAIN_CSV: series_id,date,value (make_series.py). Each FORECAST is either

- a CSV with columns series_id,date,forecast,lower,upper (statsforecast_autoets.py), matched
  to the actuals on (series_id, date); or
- salesflow's JSON: {"series": [{"id", "model", "forecast": [H], "lower": [H], "upper": [H],
  "level": 0.95}, ...]}, where forecast[i] is the (i+1)-th month after the last training
  date, i.e. the i-th held-out point of that series in date order.

NAME defaults to the file name without its extension. Per method, averaged over the series
(every held-out point of a series counts, so H steps ahead):

- MASE  = mean_h |y - f| / mean_t |y_t - y_{t-m}|         (scale: in-sample seasonal naive MAE)
- sMAPE = mean_h 200 |y - f| / (|y| + |f|)                (percent)
- RMSSE = sqrt(mean_h (y - f)^2 / mean_t (y_t - y_{t-m})^2)
- cov95 = share of held-out points inside [lower, upper]  (all points of all series; percent)

with m = --m (default 12) and the scales taken over each series' training points. Series whose
scale is 0 (a training series that repeats exactly every m months) are left out of MASE and
RMSSE and counted. Every series of the actuals must have a finite forecast for every held-out
point in every file, or the script exits 1 (--allow-missing: score what is there and report).

Output: a table (or, with --tsv, lines "name mase smape rmsse cov95 series model_count"), then,
for files carrying models (salesflow's JSON, or --models NAME=CSV with series_id,model as
written by statsforecast_autoets.py --chosen-models), the share of series per chosen model.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter

import numpy as np
import pandas as pd


def load_panel(path: str, what: str) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"series_id": str, "date": str, "value": float})
    missing = {"series_id", "date", "value"} - set(df.columns)
    if missing:
        sys.exit(f"accuracy: {what} {path} lacks column(s) {sorted(missing)}")
    return df.sort_values(["series_id", "date"], kind="stable").reset_index(drop=True)


def to_matrix(df: pd.DataFrame, ids: np.ndarray, col: str) -> np.ndarray:
    """Rows: ids in order; columns: the points of each series in date order (equal counts)."""
    counts = df.groupby("series_id", sort=False).size()
    if counts.nunique() != 1:
        sys.exit("accuracy: series of unequal length; this script expects a balanced panel")
    k = int(counts.iloc[0])
    mat = df[col].to_numpy(float).reshape(-1, k)
    order = df["series_id"].to_numpy()[::k]
    if not np.array_equal(order, ids):
        pos = pd.Index(order).get_indexer(ids)
        mat = mat[pos]
    return mat


def read_forecast(path: str, actuals: pd.DataFrame, ids: np.ndarray, h: int):
    """Returns forecast, lower, upper as (n, h) arrays aligned with ids (NaN = missing) and a
    list of chosen models (or None)."""
    with open(path, "rb") as f:
        head = f.read(64).lstrip()
    n = len(ids)
    if head.startswith(b"{"):
        with open(path) as f:
            doc = json.load(f)
        if not isinstance(doc, dict) or not isinstance(doc.get("series"), list):
            sys.exit(f"accuracy: {path}: JSON without a 'series' list")
        index = {s: i for i, s in enumerate(ids)}
        fc, lo, hi = (np.full((n, h), np.nan) for _ in range(3))
        models = []
        levels = set()
        for s in doc["series"]:
            i = index.get(str(s.get("id")))
            if i is None:
                continue
            for arr, key in ((fc, "forecast"), (lo, "lower"), (hi, "upper")):
                v = s.get(key) or []
                v = np.array([np.nan if x is None else x for x in v[:h]], dtype=float)
                arr[i, : len(v)] = v
            if s.get("model") is not None:
                models.append(str(s["model"]))
            if s.get("level") is not None:
                levels.add(float(s["level"]))
        if levels and levels != {0.95}:
            print(f"accuracy: warning: {path} has interval level(s) {sorted(levels)}, not 0.95",
                  file=sys.stderr)
        return fc, lo, hi, (models or None)

    df = pd.read_csv(path, dtype={"series_id": str, "date": str})
    need = {"series_id", "date", "forecast", "lower", "upper"}
    if need - set(df.columns):
        sys.exit(f"accuracy: {path} lacks column(s) {sorted(need - set(df.columns))}")
    m = actuals[["series_id", "date"]].merge(df, on=["series_id", "date"], how="left")
    shape = (n, h)
    return (m["forecast"].to_numpy(float).reshape(shape),
            m["lower"].to_numpy(float).reshape(shape),
            m["upper"].to_numpy(float).reshape(shape), None)


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("actuals")
    p.add_argument("train")
    p.add_argument("forecasts", nargs="+", metavar="[NAME=]FORECAST")
    p.add_argument("--m", type=int, default=12, help="seasonal period of the naive scale")
    p.add_argument("--tsv", action="store_true", help="machine-readable lines")
    p.add_argument("--models", action="append", default=[], metavar="NAME=CSV")
    p.add_argument("--allow-missing", action="store_true")
    a = p.parse_args(argv)

    act = load_panel(a.actuals, "actuals")
    train = load_panel(a.train, "training data")
    ids = act["series_id"].drop_duplicates().to_numpy()
    y = to_matrix(act, ids, "value")
    x = to_matrix(train, ids, "value")
    n, h = y.shape
    if x.shape[1] <= a.m:
        sys.exit(f"accuracy: training series of {x.shape[1]} points, need more than m={a.m}")
    d = x[:, a.m:] - x[:, : -a.m]
    mae_scale = np.abs(d).mean(axis=1)
    mse_scale = (d ** 2).mean(axis=1)
    scaled = mae_scale > 0

    rows = []
    shares = []
    ok = True
    for spec in a.forecasts:
        name, _, path = spec.rpartition("=")
        name = name or os.path.splitext(os.path.basename(path))[0]
        fc, lo, hi, models = read_forecast(path, act, ids, h)
        good = np.isfinite(fc).all(axis=1)
        bad = int(n - good.sum())
        if bad:
            msg = f"accuracy: {name}: {bad} of {n} series lack a finite forecast for some step"
            print(msg, file=sys.stderr)
            ok = False
        err = y - fc
        use = good & scaled
        mase = np.mean(np.abs(err[use]).mean(axis=1) / mae_scale[use])
        rmsse = np.mean(np.sqrt((err[use] ** 2).mean(axis=1) / mse_scale[use]))
        smape = np.mean((200 * np.abs(err[good]) / (np.abs(y[good]) + np.abs(fc[good]))).mean(axis=1))
        ivl = good[:, None] & np.isfinite(lo) & np.isfinite(hi)
        cov = 100 * np.mean(((lo <= y) & (y <= hi))[ivl]) if ivl.any() else float("nan")
        no_ivl = int(good.sum() - ivl.all(axis=1)[good].sum())
        if no_ivl:
            print(f"accuracy: {name}: {no_ivl} series lack a finite interval", file=sys.stderr)
        rows.append((name, mase, smape, rmsse, cov, int(use.sum()), int(good.sum())))
        if models:
            shares.append((name, models))
    for spec in a.models:
        name, _, path = spec.rpartition("=")
        mdf = pd.read_csv(path, dtype=str)
        shares.append((name or os.path.splitext(os.path.basename(path))[0], list(mdf["model"])))

    if a.tsv:
        for r in rows:
            print(f"{r[0]}\t{r[1]:.4f}\t{r[2]:.3f}\t{r[3]:.4f}\t{r[4]:.2f}\t{r[6]}")
    else:
        print(f"{n} series, {h} held-out months each; scales: in-sample seasonal naive, lag {a.m}"
              + (f"; {int((~scaled).sum())} series with zero scale left out of MASE/RMSSE"
                 if (~scaled).any() else ""))
        fmt = "{:<16} {:>8} {:>8} {:>8} {:>8} {:>8}"
        print(fmt.format("method", "MASE", "sMAPE %", "RMSSE", "cov95 %", "series"))
        for r in rows:
            print(fmt.format(r[0], f"{r[1]:.4f}", f"{r[2]:.3f}", f"{r[3]:.4f}", f"{r[4]:.2f}", r[6]))
    for name, models in shares:
        c = Counter(models)
        total = len(models)
        top = ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in c.most_common())
        print(f"models chosen by {name} ({total} series): {top}")

    if not ok and not a.allow_missing:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
