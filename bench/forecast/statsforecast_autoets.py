#!/usr/bin/env python3
"""The statsforecast peer of `salesflow forecast`: automatic ETS for every series.

    statsforecast_autoets.py TRAIN_CSV H M OUT_CSV [--first K] [--chosen-models FILE]

1. pandas read_csv of TRAIN_CSV (series_id,date,value), renamed to statsforecast's
   unique_id,ds,y with ds parsed as dates;
2. StatsForecast(models=[AutoETS(season_length=M)], freq='MS', n_jobs=-1)
   .forecast(df=..., h=H, level=[95]);
3. OUT_CSV with columns series_id,date,forecast,lower,upper (95 % interval), sorted by
   series_id then date.

--first K         keep only the first K series (in file order): warm-up and scaling runs.
--chosen-models   also write FILE (series_id,model) with the model AutoETS picked, e.g.
                  ETS(M,Ad,M). This needs the fitted models, so it calls .fit() then
                  .predict() instead of .forecast() (same forecasts, slower, not for timing).

One line of in-process timings goes to stderr; nothing else is printed.
"""
from __future__ import annotations

import time

T_START = time.perf_counter()  # before the imports: they are part of the run

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import pandas as pd  # noqa: E402
from statsforecast import StatsForecast  # noqa: E402
from statsforecast.models import AutoETS  # noqa: E402


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("train")
    p.add_argument("h", type=int)
    p.add_argument("m", type=int)
    p.add_argument("out")
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--chosen-models", default=None)
    a = p.parse_args(argv)
    t_import = time.perf_counter()

    df = pd.read_csv(a.train, dtype={"series_id": str, "value": float})
    df = df.rename(columns={"series_id": "unique_id", "date": "ds", "value": "y"})
    if a.first > 0:
        keep = df["unique_id"].drop_duplicates().iloc[: a.first]
        df = df[df["unique_id"].isin(keep)]
    df["ds"] = pd.to_datetime(df["ds"], format="%Y-%m-%d")
    n_series = df["unique_id"].nunique()
    t_read = time.perf_counter()

    sf = StatsForecast(models=[AutoETS(season_length=a.m)], freq="MS", n_jobs=-1)
    if a.chosen_models:
        sf.fit(df=df)
        fc = sf.predict(h=a.h, level=[95])
    else:
        fc = sf.forecast(df=df, h=a.h, level=[95])
    t_fit = time.perf_counter()

    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    out = pd.DataFrame(
        {
            "series_id": fc["unique_id"].astype(str),
            "date": pd.to_datetime(fc["ds"]).dt.strftime("%Y-%m-%d"),
            "forecast": fc["AutoETS"],
            "lower": fc["AutoETS-lo-95"],
            "upper": fc["AutoETS-hi-95"],
        }
    ).sort_values(["series_id", "date"], kind="stable")
    tmp = a.out + ".tmp"
    out.to_csv(tmp, index=False, float_format="%.6f")
    os.replace(tmp, a.out)

    if a.chosen_models:
        ids = sf.uids if hasattr(sf, "uids") else sf.uids_
        models = [sf.fitted_[i, 0].model_["method"] for i in range(sf.fitted_.shape[0])]
        pd.DataFrame({"series_id": list(map(str, ids)), "model": models}).to_csv(
            a.chosen_models, index=False
        )
    t_end = time.perf_counter()

    print(
        f"statsforecast_autoets: {n_series} series; imports {t_import - T_START:.2f} s, "
        f"read {t_read - t_import:.2f} s, {'fit+predict' if a.chosen_models else 'forecast'} "
        f"{t_fit - t_read:.2f} s, write {t_end - t_fit:.2f} s, in process {t_end - T_START:.2f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
