#!/usr/bin/env python3
"""Markdown tables of an mmbench run from its --csv file: one table per scenario, every row with
its median and [min-max] over the repeats, for the value and for the ratio to the group's base.

    python3 bench/results_table.py bench/results/results.csv > tables.md

docs/benchmarks.md's "Results of the published run" is this script's output for bench/results/."""
import csv
import sys
from collections import OrderedDict


def size_label(n):
    n = int(n)
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n:,} B" if n else "-"


def number(v, unit):
    v = float(v)
    if unit == "GB/s":
        return f"{v:.2f}"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def value_cell(r):
    unit = r["unit"]
    mid = number(r["value"], unit)
    if int(r["repeats"]) > 1:
        return f"{mid} {unit} [{number(r['value_min'], unit)}–{number(r['value_max'], unit)}]"
    return f"{mid} {unit}"


def ratio_cell(r):
    if r["method"] == r["baseline"]:
        return "base"
    kind = " cost" if r["ratio_kind"] == "cost" else ""
    mid, lo, hi = (float(r[k]) for k in ("ratio", "ratio_min", "ratio_max"))
    if int(r["repeats"]) > 1:
        return f"{mid:.2f}x [{lo:.2f}–{hi:.2f}]{kind}"
    return f"{mid:.2f}x{kind}"


def main():
    rows = list(csv.DictReader(open(sys.argv[1], newline="")))
    scenarios = OrderedDict()
    for r in rows:
        scenarios.setdefault(r["scenario"], []).append(r)
    for name, items in scenarios.items():
        print(f"<details><summary><code>{name}</code> ({len(items)} rows)</summary>\n")
        print("| case | size | cache state | method | median [min–max] | ratio [min–max] | repeats | goal |")
        print("|---|---|---|---|---:|---:|---:|---|")
        for r in items:
            method = f"**{r['method']}**" if r["method"] == r["baseline"] else r["method"]
            goal = f"{float(r['goal']):g}x: {r['goal_verdict']}" if r["goal"] else ""
            state = r["cache_state"].replace("|", "/")
            print(f"| {r['case']} | {size_label(r['size_bytes'])} | {state} | {method} | "
                  f"{value_cell(r)} | {ratio_cell(r)} | {r['repeats']} | {goal} |")
        print("\n</details>\n")


if __name__ == "__main__":
    main()
