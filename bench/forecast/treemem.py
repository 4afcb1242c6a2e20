#!/usr/bin/env python3
"""Peak memory of a whole process tree, for tools that fork workers.

    treemem.py PID [INTERVAL_S]

Every INTERVAL_S seconds (default 0.2) until PID exits, sums the proportional set size (Pss,
from /proc/P/smaps_rollup; VmRSS where that is unreadable) of PID and all its descendants, and
prints the largest sum seen, in kB, when PID is gone. /usr/bin/time's "maximum resident set
size" is that of the largest single process, so for statsforecast (n_jobs=-1: one worker
process per core, forked) it misses the workers' memory; Pss counts pages shared after the
fork once. Being sampled, the figure can miss a peak shorter than the interval.
Standard library only, Linux only.
"""
from __future__ import annotations

import os
import sys
import time


def children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name (field 2) is in parentheses and may hold spaces
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def mem_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main(argv) -> int:
    root = int(argv[0])
    interval = float(argv[1]) if len(argv) > 1 else 0.2
    peak = 0
    while os.path.exists(f"/proc/{root}"):
        kids = children_map()
        todo, total = [root], 0
        while todo:
            p = todo.pop()
            total += mem_kb(p)
            todo.extend(kids.get(p, ()))
        peak = max(peak, total)
        time.sleep(interval)
    print(peak)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
