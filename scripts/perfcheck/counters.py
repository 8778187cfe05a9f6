"""counters: the deterministic half of perf-check.

A fixed set of small `amethystd -deterministic` runs (RUNS), each giving per phase and for
the whole run its counters (every figure the result document has but the timings, by its
own names: amresult.counters), kept as baselines in results/baselines/<name>.json and
compared with them: integers exactly, reals within a relative tolerance. Only the
counters a baseline names are compared, so a counter added to the document does not fail
the check; a baseline made later (-update-baselines) records it.
"""
import math
import os

from . import common
from .common import amresult

BASELINE_SCHEMA = "amethyst-perf-baseline/1"

STRATEGIES = ("leveled", "tiered", "lazy-leveled", "triangular", "adaptive")
# Every run: one thread, compaction inline, no timeline, fixed seed, small memtables so
# 20000 keys give dozens of flushes and compactions.
COMMON_ARGS = ("-deterministic", "-sample-ms", "0", "-seed", "1", "-keys", "20000",
               "-memtable-mb", "0.25", "-value-size", "256")
WORKLOADS = (("shift", "shift"), ("fill-overwrite", "fillrandom,overwrite"))

# name -> amethystd arguments
RUNS = {f"{wname}-{eng}": ["-workload", wl, "-engine", eng] + list(COMMON_ARGS)
        for wname, wl in WORKLOADS for eng in STRATEGIES}

# The direction that is worse, for the counters where one is: "up" (more is worse). Any
# other counter (its name is read from the document, not from here) is judged "changed"
# when it moves: the workload or the accounting changed.
WORSE = {
    "write_amplification": "up",
    "wal_amplification": "up",
    "read_amplification": "up",
    "blocks_per_lookup": "up",
    "space_amplification": "up",
    "bytes.wal_written": "up",
    "bytes.flush_written": "up",
    "bytes.compaction_written": "up",
    "bytes.compaction_read": "up",
    "segments_probed": "up",
    "blocks_read": "up",
    "blocks_read_disk": "up",
    "flushes": "up",
    "compactions": "up",
    "stall_count": "up",
    "slowdown_count": "up",
    "end_state.live_sst_bytes": "up",
    "end_state.live_sst_files": "up",
    "end_state.live_entries": "up",
    "end_state.pending_compaction_bytes": "up",
}

DEFAULT_TOLERANCE = 1e-9


def extract(result):
    """The counters of one amethystd result: {"<index>:<phase>": {counter: value},
    "totals": {...}}, each group amresult.counters of its window."""
    out = {}
    groups = [(f"{p.get('index')}:{p.get('name')}", p) for p in result.get("phases") or []]
    groups.append(("totals", result.get("totals") or {}))
    for key, obj in groups:
        out[key] = amresult.counters(obj)
    return out


def make_baseline(name, args, result):
    """A baseline document for run `name`."""
    return {"schema": BASELINE_SCHEMA, "name": name, "args": list(args),
            "revision": (result.get("build") or {}).get("revision"),
            "tolerance": DEFAULT_TOLERANCE, "counters": extract(result)}


def check_baseline(doc, path):
    """Usage unless `doc` looks like a baseline document."""
    counters = doc.get("counters")
    if not isinstance(counters, dict) or not all(isinstance(v, dict) for v in counters.values()):
        raise common.Usage(f"{path}: `counters` must be an object of objects")
    for group, vals in counters.items():
        for k, v in vals.items():
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise common.Usage(f"{path}: counters.{group}.{k} is not a number or null")
    return doc


def load_baseline(path):
    return check_baseline(common.load_json(path, BASELINE_SCHEMA), path)


def values_differ(base, cur, tolerance):
    """True when two counter values differ: integers exactly, reals relatively."""
    if base is None or cur is None:
        return base is not cur
    if isinstance(base, int) and isinstance(cur, int):
        return base != cur
    if base == cur:
        return False
    scale = max(abs(base), abs(cur))
    return not math.isfinite(scale) or abs(base - cur) > tolerance * scale


def verdict(counter, base, cur):
    """"worse", "better" or "changed" for a difference in `counter`."""
    direction = WORSE.get(counter)
    if direction is None or base is None or cur is None:
        return "changed"
    return "worse" if cur > base else "better"


def compare(name, baseline, current, tolerance=DEFAULT_TOLERANCE):
    """Differences between a baseline's counters and the current ones (both as `extract`
    gives them): a list of dicts {run, group, counter, base, current, verdict}. The
    counters compared are those the baseline names, in its order; one the current run
    lacks is a difference (current "absent"), one only the current run has is not (a counter
    added since the baseline was made). A group on one side only is a difference."""
    diffs = []
    for group in sorted(set(baseline) | set(current), key=group_order):
        b, c = baseline.get(group), current.get(group)
        if b is None or c is None:
            diffs.append({"run": name, "group": group, "counter": "(phase)",
                          "base": "present" if b is not None else "absent",
                          "current": "present" if c is not None else "absent",
                          "verdict": "changed"})
            continue
        for counter in b:
            bv, cv = b[counter], c.get(counter)
            if counter not in c:
                diffs.append({"run": name, "group": group, "counter": counter, "base": bv,
                              "current": "absent", "verdict": "changed"})
            elif values_differ(bv, cv, tolerance):
                diffs.append({"run": name, "group": group, "counter": counter,
                              "base": bv, "current": cv, "verdict": verdict(counter, bv, cv)})
    return diffs


def group_order(group):
    """Phases by index, then totals."""
    head = group.split(":", 1)[0]
    return (1, 0, group) if group == "totals" else (0, int(head) if head.isdigit() else 0, group)


def failing(diffs, allow_improvements=False):
    """The differences that fail the check."""
    return [d for d in diffs if not (allow_improvements and d["verdict"] == "better")]


def baseline_path(directory, name):
    return os.path.join(directory, name + ".json")


def select_runs(spec):
    """The RUNS entries named by a comma list of names or fnmatch patterns ('' = all)."""
    import fnmatch
    if not spec:
        return dict(RUNS)
    chosen = {}
    for pat in spec.split(","):
        hits = [n for n in RUNS if fnmatch.fnmatchcase(n, pat.strip())]
        if not hits:
            raise common.Usage(f"-runs: {pat!r} matches no run (runs: {', '.join(RUNS)})")
        for n in hits:
            chosen[n] = RUNS[n]
    return chosen
