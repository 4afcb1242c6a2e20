#!/usr/bin/env python3
"""mlxtend's side of bench/basket: basket file -> frequent itemsets -> association rules -> JSON.

    mlxtend_side.py BASKETS MIN_SUPPORT OUT.json [--metric confidence] [--min-threshold 0.5]
                    [--sparse]

One basket a line, items separated by commas, read the way `salesflow basket --baskets` reads
them: surrounding spaces trimmed, an item repeated in a basket counted once, a blank line an
empty basket (it still counts toward support). Then mlxtend's documented path:
TransactionEncoder -> DataFrame -> fpgrowth(min_support, use_colnames=True) ->
association_rules(num_itemsets=N, metric, min_threshold). With --sparse the one-hot table is
a sparse DataFrame (`transform(sparse=True)`, `DataFrame.sparse.from_spmatrix`), mlxtend's
documented alternative for large item sets; same results, less encoding work.

Writes the same JSON shape as `salesflow -q basket ... --json` (the parts both compute):
{"transactions": N, "itemsets": [{"items", "support", "count"}], "rules": [{"antecedents",
"consequents", "antecedent_support", "consequent_support", "support", "confidence", "lift",
"leverage", "conviction", "zhangs_metric", "jaccard", "certainty", "kulczynski"}]}; items sorted
within each list, +inf as the string "inf", NaN as "nan". `count` is support * N rounded (mlxtend
reports support only). Prints the time of each step on stderr ("step NAME S s").
"""
import time

T0 = time.perf_counter()

import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import pandas as pd  # noqa: E402
from mlxtend.frequent_patterns import association_rules, fpgrowth  # noqa: E402
from mlxtend.preprocessing import TransactionEncoder  # noqa: E402

warnings.simplefilter("ignore")  # mlxtend's DeprecationWarning / numpy divide-by-zero noise

METRICS = [  # mlxtend column -> JSON key
    ("antecedent support", "antecedent_support"),
    ("consequent support", "consequent_support"),
    ("support", "support"),
    ("confidence", "confidence"),
    ("lift", "lift"),
    ("leverage", "leverage"),
    ("conviction", "conviction"),
    ("zhangs_metric", "zhangs_metric"),
    ("jaccard", "jaccard"),
    ("certainty", "certainty"),
    ("kulczynski", "kulczynski"),
]


def num(x: float):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def main(argv: list[str]) -> int:
    args = argv[1:]
    metric, threshold, sparse = "confidence", 0.5, False
    pos = []
    i = 0
    while i < len(args):
        if args[i] == "--metric":
            metric = args[i + 1]
            i += 2
        elif args[i] == "--sparse":
            sparse = True
            i += 1
        elif args[i] == "--min-threshold":
            threshold = float(args[i + 1])
            i += 2
        else:
            pos.append(args[i])
            i += 1
    if len(pos) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    path, min_support, out = pos[0], float(pos[1]), pos[2]
    steps = [("imports", time.perf_counter() - T0)]

    t = time.perf_counter()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.endswith("\n"):
        text = text[:-1]
    dataset = []
    for line in text.split("\n") if text else []:
        line = line.removesuffix("\r")
        if not line.strip():
            dataset.append([])
            continue
        seen = {}
        for item in line.split(","):
            item = item.strip()
            if not item or '"' in item:
                print(f"mlxtend_side: unsupported item {item!r} (empty or quoted)", file=sys.stderr)
                return 2
            seen[item] = None
        dataset.append(list(seen))
    n = len(dataset)
    steps.append(("read", time.perf_counter() - t))

    t = time.perf_counter()
    te = TransactionEncoder()
    onehot = te.fit(dataset).transform(dataset, sparse=sparse)
    if sparse:
        df = pd.DataFrame.sparse.from_spmatrix(onehot, columns=te.columns_)
    else:
        df = pd.DataFrame(onehot, columns=te.columns_)
    steps.append(("encode", time.perf_counter() - t))

    t = time.perf_counter()
    freq = fpgrowth(df, min_support=min_support, use_colnames=True)
    steps.append(("fpgrowth", time.perf_counter() - t))

    t = time.perf_counter()
    rules = association_rules(freq, num_itemsets=n, metric=metric, min_threshold=threshold)
    steps.append(("association_rules", time.perf_counter() - t))

    t = time.perf_counter()
    result = {
        "transactions": n,
        "itemsets": [
            {"items": sorted(items), "support": num(s), "count": int(round(float(s) * n))}
            for items, s in zip(freq["itemsets"], freq["support"])
        ],
        "rules": [],
    }
    cols = [rules[c].to_numpy() for c, _ in METRICS]
    for j, (a, c) in enumerate(zip(rules["antecedents"], rules["consequents"])):
        row = {"antecedents": sorted(a), "consequents": sorted(c)}
        for (_, key), col in zip(METRICS, cols):
            row[key] = num(col[j])
        result["rules"].append(row)
    with open(out, "w") as f:
        json.dump(result, f)
    steps.append(("write", time.perf_counter() - t))

    print(
        f"mlxtend_side: {n} baskets, {df.shape[1]} items, {len(freq)} itemsets, "
        f"{len(rules)} rules ({'sparse' if sparse else 'dense'} one-hot)",
        file=sys.stderr,
    )
    for name, s in steps:
        print(f"step {name} {s:.3f} s", file=sys.stderr)
    print(f"step total {time.perf_counter() - T0:.3f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
