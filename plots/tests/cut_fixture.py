#!/usr/bin/python3
"""cut_fixture: shrink a real amethystd result into a small test fixture (a few KB).

Keeps every field the plot scripts read; merges each latency histogram into at most
-buckets buckets (counts still add up; the reported percentiles are kept as they were),
keeps at most -samples timeline samples (evenly spaced, the last always), and drops the
machine and build details and the workload's phase definitions except the `load` flags.

Usage: plots/tests/cut_fixture.py [-buckets N] [-samples N] IN.json OUT.json
"""
import argparse
import json

PHASE_KEYS = ("name", "index", "ops", "ops_expected", "seconds", "ops_per_sec", "latency",
              "write_amplification", "read_amplification", "space_amplification")


def merge_buckets(buckets, n):
    if len(buckets) <= n:
        return buckets
    size = -(-len(buckets) // n)
    out = []
    for i in range(0, len(buckets), size):
        grp = buckets[i:i + size]
        out.append([grp[0][0], grp[-1][1], sum(b[2] for b in grp)])
    return out


def thin(samples, n):
    if len(samples) <= n:
        return samples
    step = len(samples) / (n - 1)
    keep = sorted({min(int(i * step), len(samples) - 1) for i in range(n - 1)} | {len(samples) - 1})
    return [samples[i] for i in keep]


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-buckets", type=int, default=6)
    p.add_argument("-samples", type=int, default=8)
    p.add_argument("inp")
    p.add_argument("out")
    a = p.parse_args()
    with open(a.inp) as f:
        d = json.load(f)
    for ph in d["phases"]:
        for lat in ph.get("latency", {}).values():
            lat["buckets"] = merge_buckets(lat["buckets"], a.buckets)
    d["timeline"] = thin(d.get("timeline", []), a.samples)
    for s in d["timeline"]:
        for k in ("rss_bytes", "p50_ns", "p99_ns", "compactions", "stall_count"):
            s.pop(k, None)
    d["machine"] = {}
    d["build"] = {"revision": d.get("build", {}).get("revision")}
    d["workload"]["phases"] = [{"name": x["name"], "load": x["load"]}
                               for x in d["workload"].get("phases", [])]
    d["engine"] = {k: d["engine"][k] for k in ("name", "family", "variant", "settings")}
    d["totals"] = {k: d["totals"].get(k) for k in ("ops", "seconds", "ops_per_sec",
                                                    "write_amplification")}
    d["phases"] = [{k: ph.get(k) for k in PHASE_KEYS} for ph in d["phases"]]
    for s in d["timeline"]:
        s["engine"] = {k: (s.get("engine") or {}).get(k) for k in ("bytes_by_tag", "segments_by_tag")}
    with open(a.out, "w") as f:
        json.dump(d, f, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
