#!/usr/bin/python3
"""amplification: write, read and space amplification per phase, grouped by engine.

Three stacked panels (write amp = flush+compaction bytes / user bytes; read amp = segments
probed per point lookup; space amp = live SSTable bytes / logical bytes at the end of the
phase), x = phase, one colour per engine; median over repeats. A null value (undefined,
e.g. read amp of a phase without lookups) leaves its bar out.

Usage: plots/amplification.py -o OUTSTEM FILE.json [FILE.json ...]
Exit status 2 on bad input (missing file, malformed JSON, wrong or mixed schema).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from phase_throughput import phase_values  # noqa: E402

PANELS = [
    ("write_amplification", "write amp.\n(bytes/byte)"),
    ("read_amplification", "read amp.\n(segments/get)"),
    ("space_amplification", "space amp.\n(bytes/byte)"),
]


def plot(docs, args):
    fig, axes = common.new_figure(height=4.2, nrows=3, sharex=True)
    for ax, (field, label) in zip(axes, PANELS):
        med, _, labels, engines = phase_values(docs, field)
        common.grouped_bars(ax, labels, engines, med, label)
    common.legend_above(axes[0])
    axes[-1].set_xlabel("phase (" + common.workload_name(docs[0]) + ")")
    return fig


if __name__ == "__main__":
    sys.exit(common.main(__doc__, plot))
