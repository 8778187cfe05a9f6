#!/usr/bin/python3
"""phase_throughput: ops/s per workload phase, bars grouped by phase, one colour per engine.

The headline figure for shift. Repeats of one engine (several files) are shown as their
median, with the individual runs as small black dots.

Usage: plots/phase_throughput.py -o OUTSTEM FILE.json [FILE.json ...]
Exit status 2 on bad input (missing file, malformed JSON, wrong or mixed schema).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def phase_values(docs, field):
    """{(engine, label): median}, {(engine, label): [runs]}, labels, engines."""
    labels = common.phase_labels(docs)
    label_of = dict(labels)
    groups = common.by_engine(docs)
    runs = {}
    for eng, ds in groups.items():
        for d in ds:
            for p in d["phases"]:
                lab = label_of[(p.get("index"), p.get("name"))]
                runs.setdefault((eng, lab), []).append(p.get(field))
    med = {k: common.median(v) for k, v in runs.items()}
    return med, runs, [l for _, l in labels], list(groups)


def plot(docs, args):
    med, runs, labels, engines = phase_values(docs, "ops_per_sec")
    fig, ax = common.new_figure(height=2.8)
    scaled = {k: (v / 1e3 if v is not None else None) for k, v in med.items()}
    common.grouped_bars(ax, labels, engines, scaled, "throughput (kops/s)")
    width = 0.8 / max(len(engines), 1)
    for i, e in enumerate(engines):
        for j, lab in enumerate(labels):
            pts = [v / 1e3 for v in runs.get((e, lab), []) if v is not None]
            if len(pts) > 1:
                ax.plot([j - 0.4 + width * (i + 0.5)] * len(pts), pts, "k.", markersize=1.5)
    ax.set_xlabel("phase (" + common.workload_name(docs[0]) + ")")
    common.legend_above(ax)
    return fig


if __name__ == "__main__":
    sys.exit(common.main(__doc__, plot))
