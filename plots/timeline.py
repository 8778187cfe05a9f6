#!/usr/bin/python3
"""timeline: a run over time, from the result's `timeline` samples (docs/results.md).

Panels, sharing the time axis (seconds since the engine was opened):
  1. throughput (kops/s) per sample interval, one line per file in its engine's colour;
  2. cumulative write amplification since the open;
  3. for one file (-tags ENGINE picks it; default the first adaptive run, else the first
     file), the SSTable bytes per strategy tag (leveled / tiered) as a stacked area, or the
     segment counts with -segments, so the tree's change of shape is visible.
The phases of that file are shaded in every panel and named on top; the other files' phase
starts are marked by dotted lines in their colours.

Usage: plots/timeline.py [-tags ENGINE] [-segments] -o OUTSTEM FILE.json [FILE.json ...]
Exit status 2 on bad input (missing file, malformed JSON, wrong or mixed schema, a file
without timeline samples, i.e. run with -sample-ms 0).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TAGS = ["leveled", "tiered"]
SHADES = ["#F2F2F2", "#DDDDDD"]


def samples(doc):
    tl = doc.get("timeline")
    if not isinstance(tl, list) or not tl:
        raise common.BadInput(f"{doc['_path']}: no timeline samples (run with -sample-ms > 0)")
    for s in tl:
        if not isinstance(s, dict) or not isinstance(s.get("t"), (int, float)):
            raise common.BadInput(f"{doc['_path']}: a timeline sample without a numeric 't'")
    return tl


def phase_spans(tl):
    """[(index, name, start, end)] from the samples' phase_index; settle/pause included."""
    spans = []
    for s in tl:
        idx = s.get("phase_index")
        if idx is None:
            continue
        start = s["t"] - (s.get("dt") or 0)
        if spans and spans[-1][0] == idx:
            spans[-1][3] = s["t"]
        else:
            spans.append([idx, s.get("phase"), start, s["t"]])
    return spans


def focus_doc(docs, want):
    if want:
        for d in docs:
            if common.engine_name(d) == want:
                return d
        raise common.BadInput(f"-tags {want}: no file of that engine")
    for d in docs:
        if common.engine_name(d) == "adaptive":
            return d
    return docs[0]


def shade(axes, spans):
    for idx, _, a, b in spans:
        for ax in axes:
            ax.axvspan(a, b, color=SHADES[idx % 2], zorder=0, linewidth=0)


def label_phases(ax, spans):
    for idx, name, a, b in spans:
        ax.text((a + b) / 2, 1.0, f"{idx + 1}", transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=common.FONT_SIZE - 1)


def series(tl, key, scale=1.0):
    xs, ys = [], []
    for s in tl:
        v = s.get(key)
        if v is not None:
            xs.append(s["t"])
            ys.append(v * scale)
    return xs, ys


def tag_area(ax, tl, use_segments):
    field = "segments_by_tag" if use_segments else "bytes_by_tag"
    scale = 1.0 if use_segments else 1.0 / (1 << 20)
    ts, stacks = [], {t: [] for t in TAGS}
    for s in tl:
        per = (s.get("engine") or {}).get(field)
        if not isinstance(per, dict):
            continue
        ts.append(s["t"])
        for t in TAGS:
            stacks[t].append((per.get(t) or 0) * scale)
    if ts:
        ax.stackplot(ts, [stacks[t] for t in TAGS], labels=TAGS,
                     colors=[common.engine_colour(t) for t in TAGS], alpha=0.85, linewidth=0)
        ax.legend(loc="upper left", ncol=2, frameon=True, framealpha=0.8, edgecolor="none")
    else:
        ax.text(0.5, 0.5, "no per-tag data", transform=ax.transAxes, ha="center")
    if use_segments:
        from matplotlib.ticker import MaxNLocator
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("SSTables" if use_segments else "SSTable MiB")


def add_args(p):
    p.add_argument("-tags", metavar="ENGINE", default=None,
                   help="the file whose tags are stacked and phases shaded (by engine name)")
    p.add_argument("-segments", action="store_true",
                   help="stack segment counts per tag instead of bytes")


def plot(docs, args):
    tls = {id(d): samples(d) for d in docs}
    focus = focus_doc(docs, args.tags)
    spans = phase_spans(tls[id(focus)])
    fig, axes = common.new_figure(height=4.4, nrows=3, sharex=True)
    shade(axes, spans)
    label_phases(axes[0], spans)
    for d in sorted(docs, key=lambda d: common.engine_sort_key(common.engine_name(d))):
        eng, tl = common.engine_name(d), tls[id(d)]
        c = common.engine_colour(eng)
        axes[0].plot(*series(tl, "ops_per_sec", 1e-3), color=c, linewidth=0.9, label=eng)
        axes[1].plot(*series(tl, "write_amplification"), color=c, linewidth=0.9)
        if d is not focus:
            for _, _, a, _ in phase_spans(tl)[1:]:
                axes[0].axvline(a, color=c, linestyle=":", linewidth=0.6)
    axes[0].set_ylabel("throughput\n(kops/s)")
    axes[0].set_ylim(bottom=0)
    axes[1].set_ylabel("cumulative\nwrite amp.")
    axes[1].set_ylim(bottom=0)
    tag_area(axes[2], tls[id(focus)], args.segments)
    axes[2].set_title(f"{common.engine_name(focus)}: per strategy tag", loc="left", pad=2)
    axes[2].set_xlabel(f"time since open (s); shaded: phases of {common.engine_name(focus)}")
    common.legend_above(axes[0], y=1.1)
    return fig


if __name__ == "__main__":
    sys.exit(common.main(__doc__, plot, add_args=add_args))
