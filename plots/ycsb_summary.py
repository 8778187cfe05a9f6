#!/usr/bin/python3
"""ycsb_summary: YCSB A–F at a glance, throughput and p99 latency per engine.

Two panels, x = workload (one group per workload name, e.g. ycsb-a ... ycsb-f; any other
workload is shown the same way), one bar per engine in its colour:
  top     throughput of the run phases (every phase whose definition is not a load):
          their ops / their seconds, in kops/s;
  bottom  p99 latency over the run phases and every op type, from the pooled histogram
          buckets, in microseconds (log scale).
Repeats of one engine and workload: the median throughput, the p99 of the pooled buckets.

Usage: plots/ycsb_summary.py -o OUTSTEM FILE.json [FILE.json ...]
Exit status 2 on bad input (missing file, malformed JSON, wrong or mixed schema, a file
without a finished run phase).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import latency  # noqa: E402


def run_phases(doc):
    """The finished phases whose definition is not a load."""
    defs = doc["workload"].get("phases") or []
    out = []
    for p in doc["phases"]:
        i = p.get("index")
        is_load = isinstance(i, int) and i < len(defs) and bool(defs[i].get("load"))
        if not is_load:
            out.append(p)
    if not out:
        raise common.BadInput(f"{doc['_path']}: no finished run (non-load) phase")
    return out


def short(name):
    return name[5:].upper() if name.startswith("ycsb-") and len(name) == 6 else name


def summarise(docs):
    """{(engine, workload): kops/s}, {(engine, workload): p99 µs}, workloads, engines."""
    tput_runs, slots = {}, {}
    for d in docs:
        key = (common.engine_name(d), short(common.workload_name(d)))
        ps = run_phases(d)
        secs = sum(p.get("seconds") or 0 for p in ps)
        ops = sum(p.get("ops") or 0 for p in ps)
        tput_runs.setdefault(key, []).append(ops / secs / 1e3 if secs > 0 else None)
        slot = slots.setdefault(key, {"buckets": {}, "max": 0})
        for p in ps:
            for op, lat in (p.get("latency") or {}).items():
                latency.check_buckets(d["_path"], op, lat.get("buckets"))
                for lo, hi, n in lat["buckets"]:
                    slot["buckets"][(lo, hi)] = slot["buckets"].get((lo, hi), 0) + n
                slot["max"] = max(slot["max"], lat.get("max") or 0)
    tput = {k: common.median(v) for k, v in tput_runs.items()}
    p99 = {}
    for k, s in slots.items():
        v = latency.percentile(s, 99)
        p99[k] = v / 1e3 if v is not None else None
    workloads = sorted({w for _, w in tput})
    engines = sorted({e for e, _ in tput}, key=common.engine_sort_key)
    return tput, p99, workloads, engines


def plot(docs, args):
    tput, p99, workloads, engines = summarise(docs)
    fig, (a1, a2) = common.new_figure(height=3.4, nrows=2, sharex=True)
    common.grouped_bars(a1, workloads, engines, tput, "throughput\n(kops/s)")
    common.grouped_bars(a2, workloads, engines, p99, "p99 latency\n(µs)")
    common.log_axis(a2)
    a2.set_xlabel("YCSB workload (run phase)")
    common.legend_above(a1)
    return fig


if __name__ == "__main__":
    sys.exit(common.main(__doc__, plot))
