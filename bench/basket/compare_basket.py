#!/usr/bin/env python3
"""Check that salesflow's and mlxtend's basket JSON agree.

    compare_basket.py SALESFLOW.json MLXTEND.json [LABEL]

Both as written by `salesflow -q basket ... --json` and mlxtend_side.py. They agree when:
- the number of transactions is equal;
- the itemsets are the same set (items compared as sorted lists), each with the same count and
  supports equal within 1e-9 relative;
- the rules are the same set of (antecedents, consequents), and every metric (antecedent_support,
  consequent_support, support, confidence, lift, leverage, conviction, zhangs_metric, jaccard,
  certainty, kulczynski) is equal within 1e-9 relative: |a - b| <= 1e-9 * max(|a|, |b|);
  "inf" only equals "inf", "nan" only "nan".
Every difference is listed (the first 20 of each kind, then a count). Prints one line
"PASS ..." or "FAIL ..." at the end; exit 0 on PASS, 1 on FAIL, 2 on unusable input.
"""
from __future__ import annotations

import json
import math
import sys
from fractions import Fraction

REL_TOL = 1e-9
METRICS = [
    "antecedent_support",
    "consequent_support",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
    "zhangs_metric",
    "jaccard",
    "certainty",
    "kulczynski",
]
SHOW = 20


def val(x) -> float:
    if isinstance(x, str):
        return float(x)  # "inf", "-inf", "nan"
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    raise ValueError(f"not a number: {x!r}")


def rel_diff(a: float, b: float) -> float:
    """0 when equal within the rules above (inf == inf, nan == nan), else the relative gap."""
    if math.isnan(a) or math.isnan(b):
        return 0.0 if math.isnan(a) and math.isnan(b) else math.inf
    if math.isinf(a) or math.isinf(b):
        return 0.0 if a == b else math.inf
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def exact_metrics(n: int, a: int, c: int, ac: int) -> dict[str, float]:
    """Every metric from the basket counts, in exact arithmetic (then rounded once)."""
    sa, sc, s = Fraction(a, n), Fraction(c, n), Fraction(ac, n)
    conf = s / sa
    out = {
        "antecedent_support": sa,
        "consequent_support": sc,
        "support": s,
        "confidence": conf,
        "lift": conf / sc,
        "leverage": s - sa * sc,
        "conviction": math.inf if conf == 1 else (1 - sc) / (1 - conf),
        "jaccard": s / (sa + sc - s),
        "certainty": (conf - sc) / (1 - sc) if sc != 1 else Fraction(0),
        "kulczynski": (s / sa + s / sc) / 2,
    }
    lev = s - sa * sc
    denom = max(s * (1 - sa), sa * (sc - s))
    out["zhangs_metric"] = lev / denom if denom else Fraction(0)  # mlxtend: 0 when 0/0
    return {k: float(v) for k, v in out.items()}


def load(path: str, label: str):
    with open(path) as f:
        d = json.load(f)
    for key in ("transactions", "itemsets", "rules"):
        if key not in d:
            raise ValueError(f"{label}: no '{key}' in {path}")
    return d


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print("usage: compare_basket.py SALESFLOW.json MLXTEND.json [LABEL]", file=sys.stderr)
        return 2
    label = argv[3] if len(argv) == 4 else ""
    try:
        sf = load(argv[1], "salesflow")
        mx = load(argv[2], "mlxtend")
    except (OSError, ValueError) as e:
        print(f"FAIL {label}: cannot read the outputs: {e}")
        return 2

    problems: list[str] = []
    n = sf["transactions"]
    if sf["transactions"] != mx["transactions"]:
        problems.append(f"transactions: salesflow {sf['transactions']}, mlxtend {mx['transactions']}")

    # ---- itemsets ----
    def itemsets(d, who):
        out = {}
        for row in d["itemsets"]:
            items = row["items"]
            if items != sorted(items):
                problems.append(f"{who}: itemset {items} is not sorted")
            key = tuple(sorted(items))
            if key in out:
                problems.append(f"{who}: itemset {list(key)} listed twice")
            out[key] = row
        return out

    si, mi = itemsets(sf, "salesflow"), itemsets(mx, "mlxtend")
    only_s = sorted(set(si) - set(mi), key=lambda k: (len(k), k))
    only_m = sorted(set(mi) - set(si), key=lambda k: (len(k), k))
    for who, keys, rows in (("salesflow", only_s, si), ("mlxtend", only_m, mi)):
        for k in keys[:SHOW]:
            problems.append(f"itemset only in {who}: {list(k)} (count {rows[k]['count']}, "
                            f"support {rows[k]['support']})")
        if len(keys) > SHOW:
            problems.append(f"... and {len(keys) - SHOW} more itemsets only in {who}")
    bad_count, bad_support, max_is = [], [], 0.0
    for k in sorted(set(si) & set(mi), key=lambda k: (len(k), k)):
        a, b = si[k], mi[k]
        if a["count"] != b["count"]:
            bad_count.append(f"itemset {list(k)}: count salesflow {a['count']}, mlxtend {b['count']}")
        r = rel_diff(val(a["support"]), val(b["support"]))
        max_is = max(max_is, r)
        if r > REL_TOL:
            bad_support.append(f"itemset {list(k)}: support salesflow {a['support']!r}, "
                               f"mlxtend {b['support']!r} (relative {r:.3g})")
    for lst in (bad_count, bad_support):
        problems.extend(lst[:SHOW])
        if len(lst) > SHOW:
            problems.append(f"... and {len(lst) - SHOW} more like that")

    # ---- rules ----
    counts = {k: r["count"] for k, r in mi.items()}  # for exact values of disagreeing metrics

    def rules(d, who):
        out = {}
        for row in d["rules"]:
            for side in ("antecedents", "consequents"):
                if row[side] != sorted(row[side]):
                    problems.append(f"{who}: rule {row['antecedents']} -> {row['consequents']}: "
                                    f"{side} not sorted")
            key = (tuple(sorted(row["antecedents"])), tuple(sorted(row["consequents"])))
            if key in out:
                problems.append(f"{who}: rule {list(key[0])} -> {list(key[1])} listed twice")
            out[key] = row
        return out

    def show(k):
        return f"{list(k[0])} -> {list(k[1])}"

    sr, mr = rules(sf, "salesflow"), rules(mx, "mlxtend")
    only_s = sorted(set(sr) - set(mr))
    only_m = sorted(set(mr) - set(sr))
    for who, keys, rows in (("salesflow", only_s, sr), ("mlxtend", only_m, mr)):
        for k in keys[:SHOW]:
            problems.append(f"rule only in {who}: {show(k)} (confidence {rows[k]['confidence']!r})")
        if len(keys) > SHOW:
            problems.append(f"... and {len(keys) - SHOW} more rules only in {who}")
    bad_metric: list[str] = []
    max_rel = {m: 0.0 for m in METRICS}
    for k in sorted(set(sr) & set(mr)):
        a, b = sr[k], mr[k]
        exact = None
        for m in METRICS:
            if m not in a or m not in b:
                bad_metric.append(f"rule {show(k)}: {m} missing in "
                                  f"{'salesflow' if m not in a else 'mlxtend'}")
                continue
            try:
                r = rel_diff(val(a[m]), val(b[m]))
            except ValueError as e:
                bad_metric.append(f"rule {show(k)}: {m}: {e}")
                continue
            if not math.isinf(r):
                max_rel[m] = max(max_rel[m], r)
            if r > REL_TOL:
                note = ""
                ka, kc = k[0], k[1]
                kac = tuple(sorted(ka + kc))
                if exact is None and all(x in counts for x in (ka, kc, kac)):
                    exact = exact_metrics(n, counts[ka], counts[kc], counts[kac])
                if exact is not None:
                    note = f"; exact from counts {exact[m]!r}"
                bad_metric.append(f"rule {show(k)}: {m} salesflow {a[m]!r}, mlxtend {b[m]!r} "
                                  f"(relative {r:.3g}{note})")
    problems.extend(bad_metric[:SHOW])
    if len(bad_metric) > SHOW:
        problems.append(f"... and {len(bad_metric) - SHOW} more metric differences")

    worst = max(max_rel.items(), key=lambda kv: kv[1])
    summary = (f"{label + ': ' if label else ''}{len(si)} itemsets, {len(sr)} rules "
               f"(mlxtend {len(mi)}, {len(mr)}); largest relative difference: itemset support "
               f"{max_is:.2g}, rule metrics {worst[1]:.2g} ({worst[0]})")
    for p in problems:
        print(f"  {p}")
    if problems:
        print(f"FAIL {summary}; {len(problems)} difference line(s) above")
        return 1
    print(f"PASS {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
