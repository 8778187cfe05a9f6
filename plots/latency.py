#!/usr/bin/python3
"""latency: latency per operation type, from the result's histogram buckets.

Two kinds of figure (-kind):
  percentiles  (default) one panel per op type, bars for p50, p90, p99, p99.9, p99.99 per
               engine, log scale in microseconds;
  cdf          one panel per op type, the cumulative distribution of latency per engine,
               drawn from the histogram buckets ([lo, hi, count], docs/results.md).
By default every phase is pooled (buckets added up per op type); -phase NAME (or a 0-based
index) keeps one phase. Repeats of one engine are pooled too. Percentiles are computed the
way amethystd computes them: the upper edge of the bucket holding the rank, capped at max.

Usage: plots/latency.py [-kind percentiles|cdf] [-phase P] -o OUTSTEM FILE.json [...]
Exit status 2 on bad input (missing file, malformed JSON, wrong or mixed schema, a bucket
list that is not [lo, hi, count] triples, a -phase no file has).
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

PERCENTILES = [(50, "p50"), (90, "p90"), (99, "p99"), (99.9, "p99.9"), (99.99, "p99.99")]
OP_ORDER = ["read", "read_missing", "update", "insert", "delete", "scan", "rmw"]


def phase_matches(phase, want):
    if want is None:
        return True
    return phase.get("name") == want or str(phase.get("index")) == want


def check_buckets(path, op, buckets):
    if not isinstance(buckets, list) or not all(
            isinstance(b, list) and len(b) == 3 and all(isinstance(x, (int, float)) for x in b)
            for b in buckets):
        raise common.BadInput(f"{path}: latency.{op}.buckets is not a list of [lo, hi, count]")


def pooled(docs, want_phase):
    """{op: {engine: {"buckets": {(lo, hi): count}, "max": ns}}} over the chosen phases."""
    out, matched = {}, False
    for d in docs:
        eng = common.engine_name(d)
        for p in d["phases"]:
            if not phase_matches(p, want_phase):
                continue
            matched = True
            for op, lat in (p.get("latency") or {}).items():
                check_buckets(d["_path"], op, lat.get("buckets"))
                slot = out.setdefault(op, {}).setdefault(eng, {"buckets": {}, "max": 0})
                for lo, hi, n in lat["buckets"]:
                    slot["buckets"][(lo, hi)] = slot["buckets"].get((lo, hi), 0) + n
                slot["max"] = max(slot["max"], lat.get("max") or 0)
    if want_phase is not None and not matched:
        raise common.BadInput(f"no phase {want_phase!r} in the given files")
    return out


def percentile(slot, q):
    """Upper edge of the bucket holding rank ceil(q% of count), capped at max (ns)."""
    items = sorted(slot["buckets"].items())
    total = sum(n for _, n in items)
    if total == 0:
        return None
    rank = max(1, math.ceil(total * q / 100.0))
    seen = 0
    for (lo, hi), n in items:
        seen += n
        if seen >= rank:
            return min(hi, slot["max"]) if slot["max"] else hi
    return items[-1][0][1]


def cdf_points(slot):
    """[(x_ns, fraction <= x)] stepping at each bucket's upper edge."""
    items = sorted(slot["buckets"].items())
    total = sum(n for _, n in items)
    if total == 0:
        return []
    pts, seen = [(items[0][0][0], 0.0)], 0
    for (lo, hi), n in items:
        seen += n
        pts.append((hi, seen / total))
    return pts


def ops_in_order(ops):
    return sorted(ops, key=lambda o: (OP_ORDER.index(o) if o in OP_ORDER else 99, o))


def panels(data):
    ops = ops_in_order(data)
    if not ops:
        raise common.BadInput("no latency data in the given files (no finished phase?)")
    fig, axes = common.new_figure(height=0.6 + 1.5 * len(ops), nrows=len(ops), squeeze=False)
    return ops, [a[0] for a in axes], fig


def plot_percentiles(data, title):
    ops, axes, fig = panels(data)
    labels = [lab for _, lab in PERCENTILES]
    for ax, op in zip(axes, ops):
        engines = sorted(data[op], key=common.engine_sort_key)
        vals = {}
        for e in engines:
            for q, lab in PERCENTILES:
                v = percentile(data[op][e], q)
                vals[(e, lab)] = v / 1e3 if v is not None else None
        common.grouped_bars(ax, labels, engines, vals, f"{op} latency (µs)")
        common.log_axis(ax)
    axes[-1].set_xlabel("percentile" + title)
    common.legend_above(axes[0])
    return fig


def plot_cdf(data, title):
    ops, axes, fig = panels(data)
    for ax, op in zip(axes, ops):
        for e in sorted(data[op], key=common.engine_sort_key):
            pts = cdf_points(data[op][e])
            ax.step([x / 1e3 for x, _ in pts], [y for _, y in pts], where="post",
                    color=common.engine_colour(e), label=e, linewidth=1)
        ax.set_xscale("log")
        ax.set_ylim(0, 1.01)
        ax.set_ylabel(f"{op}: fraction ≤ x")
        ax.grid(True, which="major", linewidth=0.3, alpha=0.5)
    axes[-1].set_xlabel("latency (µs, log scale)" + title)
    common.legend_above(axes[0])
    return fig


def add_args(p):
    p.add_argument("-kind", choices=["percentiles", "cdf"], default="percentiles",
                   help="percentile bars (default) or CDF lines")
    p.add_argument("-phase", default=None,
                   help="one phase, by name or 0-based index (default: every phase pooled)")


def plot(docs, args):
    data = pooled(docs, args.phase)
    title = "" if args.phase is None else f" — phase {args.phase}"
    return plot_cdf(data, title) if args.kind == "cdf" else plot_percentiles(data, title)


if __name__ == "__main__":
    sys.exit(common.main(__doc__, plot, add_args=add_args))
