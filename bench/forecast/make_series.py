#!/usr/bin/env python3
"""Deterministic synthetic monthly sales series for bench/forecast.

    make_series.py [N [LENGTH [HOLDOUT [OUTDIR]]]] [--seed S] [--start YYYY-MM]

Writes N monthly series of LENGTH + HOLDOUT points, all starting at --start (default 2019-01):

    OUTDIR/train.csv    series_id,date,value   the first LENGTH points of every series
    OUTDIR/actuals.csv  series_id,date,value   the HOLDOUT points that follow

Rows are sorted by series_id then date; dates are ISO, the first of the month; series ids are
s00001, s00002, ... (zero-padded to at least five digits). Values are positive, two decimals.
Defaults: N=10000, LENGTH=60, HOLDOUT=12, OUTDIR=., seed 7. numpy only; the same arguments
always give byte-identical files.

The mix is meant to look like product or store sales (shares are of the series):

- level: log-normal, median about 200 (a few units up to tens of thousands);
- trend: none 40 %, linear 35 % (-1 % to +2 % of the level a month), damped 25 % (initial
  slope -2 % to +3 % a month, damping 0.80-0.97); a decline stops at 35 % of the level;
- a slowly wandering level for every series (random walk, 0-3 % a month);
- yearly seasonality: none 20 %, additive 35 %, multiplicative 45 %, amplitude 5-50 % of the
  level, the profile one or two harmonics with a random phase, and for a third of the
  seasonal series an extra November-December peak;
- noise: multiplicative (log-normal) for the multiplicative-season and non-seasonal series,
  additive (normal) for the additive-season ones, 2-25 % of the level (for additive
  seasons and noise: of the lowest trend level, so their size is fixed over time);
- level shifts: 6 % of the series step up or down by 15-45 % at a random month of the
  training window (between 25 % and 85 % of LENGTH).

Values are floored at 1 % of the series' starting level, so a strong downward draw cannot go
to zero or below (with the defaults this touches 26 of the 720,000 points).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("n", nargs="?", type=int, default=10000, help="number of series")
    p.add_argument("length", nargs="?", type=int, default=60, help="training points per series")
    p.add_argument("holdout", nargs="?", type=int, default=12, help="held-out points per series")
    p.add_argument("outdir", nargs="?", default=".", help="output folder")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--start", default="2019-01", help="first month, YYYY-MM")
    a = p.parse_args(argv)
    if a.n < 1 or a.length < 2 or a.holdout < 0:
        p.error("N must be >= 1, LENGTH >= 2, HOLDOUT >= 0")
    try:
        y, m = (int(x) for x in a.start.split("-"))
        if not 1 <= m <= 12:
            raise ValueError
    except ValueError:
        p.error(f"--start must be YYYY-MM (got {a.start!r})")
    a.start_year, a.start_month = y, m
    return a


def generate(n: int, t: int, rng: np.random.Generator, start_month: int, train_len: int):
    """Returns an (n, t) array of positive values."""
    steps = np.arange(t, dtype=float)

    level0 = np.exp(rng.normal(np.log(200.0), 1.3, n))

    # trend (as a fraction of the starting level per month)
    kind = rng.choice(3, size=n, p=[0.40, 0.35, 0.25])  # 0 none, 1 linear, 2 damped
    slope = np.zeros(n)
    lin = kind == 1
    slope[lin] = rng.uniform(-0.01, 0.02, lin.sum())
    damped = kind == 2
    slope[damped] = rng.uniform(-0.02, 0.03, damped.sum())
    phi = rng.uniform(0.80, 0.97, n)
    cum = np.where(
        damped[:, None],
        # sum_{j=1..k} phi^j = phi (1 - phi^k) / (1 - phi)
        phi[:, None] * (1.0 - phi[:, None] ** steps[None, :]) / (1.0 - phi[:, None]),
        steps[None, :],
    )
    trend = 1.0 + slope[:, None] * cum
    trend = np.maximum(trend, 0.35)  # a declining product fades but does not vanish

    # slowly wandering level, multiplicative
    rw_sd = rng.uniform(0.0, 0.03, n)
    walk = np.exp(np.cumsum(rng.normal(0.0, 1.0, (n, t)) * rw_sd[:, None], axis=1))

    # level shifts inside the training window
    has_shift = rng.random(n) < 0.06
    at = rng.integers(int(0.25 * train_len), max(int(0.85 * train_len), int(0.25 * train_len) + 1), n)
    size = rng.uniform(0.15, 0.45, n) * rng.choice([-1.0, 1.0], n)
    after = steps[None, :] >= at[:, None]
    shift = np.where(has_shift[:, None] & after, 1.0 + size[:, None], 1.0)

    base = level0[:, None] * trend * walk * shift

    # yearly seasonality on the calendar month
    season_kind = rng.choice(3, size=n, p=[0.20, 0.35, 0.45])  # 0 none, 1 additive, 2 mult.
    month = (start_month - 1 + np.arange(12)) % 12  # calendar month of step 0..11
    ang = 2.0 * np.pi * np.arange(12) / 12.0
    ph1 = rng.uniform(0, 2 * np.pi, n)
    ph2 = rng.uniform(0, 2 * np.pi, n)
    w2 = rng.uniform(0.0, 0.6, n)
    prof = np.sin(ang[None, :] + ph1[:, None]) + w2[:, None] * np.sin(2 * ang[None, :] + ph2[:, None])
    holiday = (rng.random(n) < 1 / 3)[:, None] & np.isin(np.arange(12), [10, 11])[None, :]
    prof = prof + holiday * rng.uniform(0.8, 2.0, n)[:, None]
    prof -= prof.mean(axis=1, keepdims=True)
    prof /= np.abs(prof).max(axis=1, keepdims=True)
    amp = rng.uniform(0.05, 0.5, n)
    s = prof[:, month]  # prof is by calendar month 0..11; s by step modulo 12
    s = np.tile(s, (1, t // 12 + 1))[:, :t] * amp[:, None]

    noise_sd = rng.uniform(0.02, 0.25, n)
    eps = rng.normal(0.0, 1.0, (n, t)) * noise_sd[:, None]

    add = season_kind == 1
    scale_add = level0 * trend.min(axis=1) * shift.min(axis=1)
    mult_season = np.where(season_kind[:, None] == 2, 1.0 + s, 1.0)
    y = np.where(
        add[:, None],
        # additive season and noise, fixed in size: scaled by the lowest deterministic level
        base + scale_add[:, None] * (s + eps),
        base * mult_season * np.exp(eps - 0.5 * noise_sd[:, None] ** 2),
    )
    return np.maximum(y, 0.01 * level0[:, None])


def write_csv(path: str, ids, dates, values) -> None:
    """ids: (n,) str, dates: (k,) str, values: (n, k) float."""
    n, k = values.shape
    col_id = np.repeat(np.asarray(ids, dtype=object), k)
    col_date = np.tile(np.asarray(dates, dtype=object), n)
    col_val = np.char.mod("%.2f", values.reshape(-1))
    tmp = path + ".tmp"
    with open(tmp, "w", newline="\n") as f:
        f.write("series_id,date,value\n")
        f.writelines(f"{a},{b},{c}\n" for a, b, c in zip(col_id, col_date, col_val))
    os.replace(tmp, path)


def main(argv) -> int:
    a = parse_args(argv)
    t = a.length + a.holdout
    rng = np.random.default_rng(a.seed)
    y = np.round(generate(a.n, t, rng, a.start_month, a.length), 2)
    y = np.maximum(y, 0.01)

    width = max(5, len(str(a.n)))
    ids = [f"s{i:0{width}d}" for i in range(1, a.n + 1)]
    months = a.start_year * 12 + (a.start_month - 1) + np.arange(t)
    dates = [f"{m // 12:04d}-{m % 12 + 1:02d}-01" for m in months]

    os.makedirs(a.outdir, exist_ok=True)
    write_csv(os.path.join(a.outdir, "train.csv"), ids, dates[: a.length], y[:, : a.length])
    write_csv(os.path.join(a.outdir, "actuals.csv"), ids, dates[a.length :], y[:, a.length :])
    print(
        f"make_series: {a.n} series x {a.length} + {a.holdout} months "
        f"({dates[0]} .. {dates[-1]}), seed {a.seed} -> {a.outdir}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
