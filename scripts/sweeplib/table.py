"""The combined CSV: one row per run and phase, plus a total row per run.

Failed runs get one row with status "failed" and the error; points not run yet are left
out. Latency percentiles are over every operation type of the phase (or of the run, for
the total row), computed from the result's histogram buckets the way amethystd's own
summary computes them (docs/metrics.md): the upper edge of the bucket holding the rank
ceil(p/100 * count), capped at the largest value.
"""
import csv
import math
import os

COLUMNS = ["engine", "workload", "keys", "value_size", "seed", "run", "status",
           "phase_index", "phase", "ops", "seconds", "ops_per_sec", "p50_ns", "p99_ns",
           "write_amplification", "read_amplification", "space_amplification", "switches",
           "settle_seconds", "revision", "result", "error"]


def merge_latency(latency_objects):
    """({(lo, hi): count}, max) over latency objects (one per op type)."""
    buckets, top = {}, None
    for lat in latency_objects:
        for lo, hi, n in lat.get("buckets", []):
            buckets[(lo, hi)] = buckets.get((lo, hi), 0) + n
        if lat.get("max") is not None:
            top = lat["max"] if top is None else max(top, lat["max"])
    return buckets, top


def percentile(buckets, top, p):
    """amethystd's hist_percentile over merged buckets; None when empty."""
    n = sum(buckets.values())
    if n == 0:
        return None
    pm = int(p * 1e6 + 0.5)
    rank = min(max(1, -(-pm * n // 100000000)), n)
    seen = 0
    for (lo, hi) in sorted(buckets):
        seen += buckets[(lo, hi)]
        if seen >= rank:
            return hi if top is None or hi < top else top
    return top


def latency_of(phases):
    """(p50, p99) over every op type of the given phases."""
    objs = [lat for ph in phases for lat in (ph.get("latency") or {}).values()]
    buckets, top = merge_latency(objs)
    return percentile(buckets, top, 50.0), percentile(buckets, top, 99.0)


def run_rows(rec, doc):
    """The rows of one run: rec is the runner's record (or a point's dict), doc its
    result (None for a failed run)."""
    base = {k: rec.get(k) for k in ("engine", "workload", "keys", "value_size", "seed")}
    base.update(run=rec["name"], status=rec.get("status"), result=rec.get("result"),
                error=rec.get("error"))
    if doc is None:
        base["result"] = rec.get("log") or ""
        return [base]
    base["status"] = "ok"
    base["revision"] = (doc.get("build") or {}).get("revision")
    rows = []
    for ph in doc.get("phases", []):
        rows.append(dict(base, phase_index=ph.get("index"), phase=ph.get("name"),
                         **figures(ph, [ph])))
    rows.append(dict(base, phase="total", **figures(doc.get("totals") or {},
                                                    doc.get("phases", []))))
    return rows


def figures(obj, phases):
    p50, p99 = latency_of(phases)
    return {"ops": obj.get("ops"), "seconds": obj.get("seconds"),
            "ops_per_sec": obj.get("ops_per_sec"), "p50_ns": p50, "p99_ns": p99,
            "write_amplification": obj.get("write_amplification"),
            "read_amplification": obj.get("read_amplification"),
            "space_amplification": obj.get("space_amplification"),
            "switches": obj.get("switches"), "settle_seconds": obj.get("settle_seconds")}


def cell(v):
    """Empty for null; reals with full precision (repr) so nothing is lost."""
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return v


def write_csv(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({c: cell(r.get(c)) for c in COLUMNS})
    os.replace(tmp, path)
