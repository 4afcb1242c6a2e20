#!/usr/bin/env python3
"""The purchase matrices for the implicit side of bench/recommend, built as salesflow builds them.

    prepare.py DATA_CSV_DIR OUT_DIR [--holdout-from YYYY-MM-DD]

Reads orders.csv and order_lines.csv (and customers.csv / products.csv for the index sets) from
DATA_CSV_DIR and writes to OUT_DIR:

  train.npz  customer x product CSR (scipy.sparse.save_npz), float32: number of orders before
             the holdout in which the customer bought the product
  test.npz   the same for orders at or after the holdout
  meta.json  holdout date, counts, and the figures run.sh checks against salesflow's

What salesflow does (crates/salesflow-engine/src/purchases.rs, commands/recommend.rs), replicated:
- purchases = order_lines with quantity > 0 joined to orders on order_id, orders whose status is
  cancelled or refunded left out; one purchase per (order, product) (lines of the same product
  in one order are one purchase). An order id repeated in orders takes MIN(customer_id) and
  MIN(ordered_at).
- users = every customer of orders.csv (any status) and customers.csv; items = every product
  purchased and every product of products.csv (so the matrix shape equals salesflow's, empty
  rows included).
- value of (customer, product) = number of purchases (each counts 1).
- train = purchases with ordered_at < holdout day 00:00 UTC; test = the others.
- default holdout: the start (UTC) of the day of the purchase at position floor(0.9 n) in time
  order (salesflow's default_cut), i.e. about 10 % of purchases in the test period.

Only salesflow's canonical status words are recognised ('cancelled', 'refunded', compared after
trimming and lower-casing; salesflow also maps synonyms such as 'void' or 'returned' on
ingest). The script stops if orders.csv has another status than completed/cancelled/refunded,
so a data set where the two definitions could differ is never benchmarked silently.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

KNOWN_STATUS = {"completed", "cancelled", "refunded"}
NOT_PURCHASE = {"cancelled", "refunded"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--holdout-from", help="YYYY-MM-DD (default: salesflow's rule)")
    ap.add_argument("--warm-dir", help="also write here a copy of the data without the holdout "
                    "orders of customers who bought nothing before it (other tables linked)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    orders = pd.read_csv(
        os.path.join(a.data, "orders.csv"),
        usecols=["customer_id", "order_id", "ordered_at", "status"],
        dtype=str,
        keep_default_na=False,
    )
    lines = pd.read_csv(
        os.path.join(a.data, "order_lines.csv"),
        usecols=["order_id", "product_id", "quantity"],
        dtype={"order_id": str, "product_id": str, "quantity": float},
        keep_default_na=False,
    )
    status = orders["status"].str.strip().str.lower()
    other = set(status.unique()) - KNOWN_STATUS - {""}
    if other:
        sys.exit(f"prepare.py: orders.csv has status values {sorted(other)} that salesflow may "
                 "map to cancelled/refunded; extend prepare.py before benchmarking this data")
    n_orders = len(orders)
    orders = orders[~status.isin(NOT_PURCHASE)].copy()
    orders["at"] = (pd.to_datetime(orders["ordered_at"], utc=True, format="ISO8601")
                    - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    if orders["order_id"].duplicated().any():
        # MIN(customer_id), MIN(ordered_at) per order (sort + first: pandas' string min is slow)
        at = orders.groupby("order_id")["at"].min()
        orders = (orders.sort_values(["order_id", "customer_id"])
                  .drop_duplicates("order_id")[["order_id", "customer_id"]])
        orders["at"] = orders["order_id"].map(at)
    lines = lines[lines["quantity"] > 0]
    purchases = (lines.merge(orders, on="order_id")
                 .drop_duplicates(["order_id", "product_id"])[["customer_id", "product_id", "at"]])

    # index sets as salesflow's: every customer and product salesflow indexes
    customers = set(pd.read_csv(os.path.join(a.data, "orders.csv"), usecols=["customer_id"],
                                dtype=str, keep_default_na=False)["customer_id"])
    products = set(purchases["product_id"])
    for name, col, target in (("customers.csv", "customer_id", customers),
                              ("products.csv", "product_id", products)):
        path = os.path.join(a.data, name)
        if os.path.exists(path):
            target.update(pd.read_csv(path, usecols=[col], dtype=str,
                                      keep_default_na=False)[col])
    customers = sorted(customers)
    products = sorted(products)
    u = pd.Index(customers).get_indexer(purchases["customer_id"])
    i = pd.Index(products).get_indexer(purchases["product_id"])
    at = purchases["at"].to_numpy(np.int64)

    if a.holdout_from:
        cut = int(pd.Timestamp(a.holdout_from, tz="UTC").value // 10**9)
    else:
        ts = np.sort(at)
        t = max(ts[int(len(ts) * 0.9)], ts[0] + 1)
        cut = int(t - t % 86400)
    holdout = pd.Timestamp(cut, unit="s", tz="UTC").strftime("%Y-%m-%d")

    shape = (len(customers), len(products))

    def matrix(mask):
        m = sp.csr_matrix((np.ones(mask.sum(), np.float32), (u[mask], i[mask])), shape=shape)
        m.sum_duplicates()  # repeated (customer, product) pairs add up: orders per pair
        m.sort_indices()
        return m

    train = matrix(at < cut)
    test = matrix(at >= cut)
    os.makedirs(a.out, exist_ok=True)
    sp.save_npz(os.path.join(a.out, "train.npz"), train)
    sp.save_npz(os.path.join(a.out, "test.npz"), test)

    # users evaluated: at least one test product not in their training row
    new = test - test.multiply(train > 0)
    new.eliminate_zeros()
    evaluated = np.flatnonzero(np.diff(new.indptr) > 0)
    cold = int((np.diff(train.indptr)[evaluated] == 0).sum())
    meta = {
        "holdout_from": holdout,
        "orders": n_orders,
        "purchases": int(len(purchases)),
        "customers": shape[0],
        "buyers": int(purchases["customer_id"].nunique()),
        "products": shape[1],
        "train_purchases": int((at < cut).sum()),
        "test_purchases": int((at >= cut).sum()),
        "test_share": float((at >= cut).mean()),
        "train_pairs": int(train.nnz),
        "test_pairs": int(test.nnz),
        "evaluated_users": int(len(evaluated)),
        "evaluated_users_without_training_purchases": cold,
        "prepare_s": round(time.perf_counter() - t0, 3),
    }
    if a.warm_dir:
        write_warm(a.data, a.warm_dir, cut, set(np.asarray(customers)[np.diff(train.indptr) > 0]))
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(json.dumps(meta))


def write_warm(data, out, cut, warm):
    """DATA with the orders at or after the holdout of customers not in `warm` left out.

    The training purchases (and every customer and product id) are unchanged, so salesflow fits
    the same ALS model on it; only the users it evaluates change: those with a training
    purchase, whose precision implicit_side.py reports as precision_warm. Other tables are
    symbolic links to DATA's.
    """
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(data):
        if name == "orders.csv":
            continue
        link = os.path.join(out, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.abspath(os.path.join(data, name)), link)
    orders = pd.read_csv(os.path.join(data, "orders.csv"), dtype=str, keep_default_na=False)
    at = (pd.to_datetime(orders["ordered_at"], utc=True, format="ISO8601")
          - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    keep = (at < cut).to_numpy() | orders["customer_id"].isin(warm).to_numpy()
    orders[keep].to_csv(os.path.join(out, "orders.csv"), index=False)


if __name__ == "__main__":
    main()
