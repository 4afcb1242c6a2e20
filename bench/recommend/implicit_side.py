#!/usr/bin/env python3
"""implicit's CPU ALS on the matrices prepare.py wrote: the fit timed in process, then P@10.

    implicit_side.py PREP_DIR OUT_JSON --factors F --regularization R --alpha A --iterations I
                     [--seed S] [--k K]

Same objective as salesflow's ALS. salesflow (Hu, Koren & Volinsky 2008): a purchase count r
becomes preference p = 1 with confidence c = 1 + alpha*r; pairs not bought have p = 0, c = 1.
implicit 0.7.3 (implicit/cpu/als.py, AlternatingLeastSquares.fit, and the native
_als.least_squares_cg of implicit/cpu/_als.pyx, whose pure-Python twin least_squares_cg is in
als.py) takes the stored value itself as the confidence: fit() multiplies the matrix by alpha
only when alpha != 1.0, and the CG solver then solves
    (YtY + reg*I + sum_i (c_ui - 1) y_i y_i^T) x_u = sum_i c_ui y_i      (c_ui = stored value)
i.e. confidence = alpha x value, with 1 for the pairs not stored. So implicit is given the
matrix 1 + alpha*r on the stored entries and alpha=1.0: both minimise
    sum_ui c_ui (p_ui - x_u.y_i)^2 + reg (|x|^2 + |y|^2)
with 3 CG steps per row and sweep (implicit's cg_steps default; salesflow's too), float32
factors initialised uniform in [0, 0.01), the same number of sweeps, users then items.
Differences left, both about users without a training purchase (empty rows; no item has one
here): implicit sets their factors to zero, so all their scores are 0 and their top k is an
arbitrary tie order; salesflow runs its CG steps on such a row from the current vector
(right-hand side 0), which shrinks it towards zero without reaching it (so these rows still
enter XtX in the item half-sweeps, slightly), and since commit 1c8a68d it recommends those users
popularity (in their segment when known) instead of ALS scores, in its evaluation too. run.sh
therefore compares precision also on the users with a training purchase (precision_warm here;
salesflow on a copy of the data without the other users' holdout orders, see prepare.py).

Metrics, on the users with at least one test product not in their training row (salesflow's
definition; prepare.py), recommendations never repeating a training product
(filter_already_liked_items=True):
- precision: textbook, hits/k averaged over those users (salesflow's "precision");
- precision_implicit: implicit.evaluation.ranking_metrics_at_k's, Σhits / Σmin(k, |relevant|)
  (salesflow's "precision_implicit"), given the test matrix without the training pairs so its
  relevant sets equal salesflow's; map and ndcg from the same call.
Also precision over the users with a training purchase only ("warm").
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit's advice (check_blas_config)
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
import scipy.sparse as sp
import threadpoolctl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prep")
    ap.add_argument("out")
    ap.add_argument("--factors", type=int, required=True)
    ap.add_argument("--regularization", type=float, required=True)
    ap.add_argument("--alpha", type=float, required=True)
    ap.add_argument("--iterations", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, default=10)
    a = ap.parse_args()

    t0 = time.perf_counter()
    import implicit
    from implicit.als import AlternatingLeastSquares
    from implicit.cpu.als import AlternatingLeastSquares as CpuAls
    from implicit.evaluation import ranking_metrics_at_k
    t_import = time.perf_counter() - t0

    train = sp.load_npz(os.path.join(a.prep, "train.npz")).tocsr().astype(np.float32)
    test = sp.load_npz(os.path.join(a.prep, "test.npz")).tocsr().astype(np.float32)

    # confidence matrix: 1 + alpha*r on the stored entries (see the docstring)
    conf = train.copy()
    conf.data = (1.0 + a.alpha * conf.data).astype(np.float32)

    with threadpoolctl.threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=a.factors,
            regularization=a.regularization,
            alpha=1.0,
            dtype=np.float32,
            use_native=True,
            use_cg=True,
            iterations=a.iterations,
            calculate_training_loss=False,
            num_threads=0,  # every core
            random_state=a.seed,
        )
        if not isinstance(model, CpuAls):
            sys.exit("implicit_side.py: implicit chose a non-CPU ALS (GPU build?); "
                     "this benchmark compares the CPU solver")
        assert model.cg_steps == 3 and model.use_cg
        t = time.perf_counter()
        model.fit(conf, show_progress=False)
        fit_s = time.perf_counter() - t

        # relevant = test products not in the training row; users with none are not evaluated
        new = test - test.multiply(train > 0)
        new.eliminate_zeros()
        new = (new > 0).astype(np.float32).tocsr()
        users = np.flatnonzero(np.diff(new.indptr) > 0)
        t = time.perf_counter()
        ids, _ = model.recommend(users, conf[users], N=a.k, filter_already_liked_items=True)
        rel = new[users].toarray() > 0
        valid = ids >= 0
        hits = (rel[np.arange(len(users))[:, None], np.where(valid, ids, 0)] & valid).sum(axis=1)
        warm = np.diff(train.indptr)[users] > 0
        precision = float(hits.mean() / a.k)
        precision_warm = float(hits[warm].mean() / a.k) if warm.any() else float("nan")
        precision_cold = float(hits[~warm].mean() / a.k) if (~warm).any() else float("nan")
        m = ranking_metrics_at_k(model, conf, new, K=a.k, show_progress=False, num_threads=0)
        eval_s = time.perf_counter() - t

    res = {
        "implicit": implicit.__version__,
        "factors": a.factors,
        "regularization": a.regularization,
        "alpha": a.alpha,
        "iterations": a.iterations,
        "cg_steps": model.cg_steps,
        "num_threads": model.num_threads,
        "fit_s": fit_s,
        "users": int(len(users)),
        "users_warm": int(warm.sum()),
        "precision": precision,
        "precision_warm": precision_warm,
        "precision_cold": precision_cold,
        "precision_implicit": float(m["precision"]),
        "map": float(m["map"]),
        "ndcg": float(m["ndcg"]),
        "import_s": t_import,
        "eval_s": eval_s,
        "shape": list(train.shape),
        "pairs": int(train.nnz),
    }
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
    print(f"implicit_side: fit {fit_s:.3f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
