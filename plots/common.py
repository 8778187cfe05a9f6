"""common: what every figure script shares.

Owns: refusing bad input (pylib/amresult.py loads and validates the result JSON; a
missing file, malformed JSON, a wrong or mixed schema is refused with a one-line message
and exit status 2), the fixed colour of each engine, the column-width figure style, and
saving a figure as PNG (200 dpi) and PDF. Python 3 standard library + matplotlib only.
"""
import argparse
import hashlib
import math
import os
import re
import sys

_PYLIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pylib")
if _PYLIB not in sys.path:
    sys.path.insert(0, _PYLIB)
import amresult  # noqa: E402

SCHEMA = amresult.SCHEMA

# One fixed colour per engine name, the same in every figure (colour-blind-friendly
# Okabe-Ito / Tableau hues).
ENGINE_COLOURS = {
    "leveled": "#0072B2",
    "tiered": "#E69F00",
    "lazy-leveled": "#009E73",
    "triangular": "#CC79A7",
    "adaptive": "#D55E00",
    "rocksdb-leveled": "#56B4E9",
    "rocksdb-universal": "#F0E442",
    "leveldb": "#555555",
    "null": "#BBBBBB",
}
FALLBACK_COLOURS = ["#8C564B", "#17BECF", "#BCBD22", "#9467BD", "#7F7F7F", "#2CA02C"]
ENGINE_ORDER = list(ENGINE_COLOURS)

COLUMN_SIZE = (3.4, 2.4)  # inches: one column of a two-column paper
FONT_SIZE = 8


# Input the scripts refuse: exit 2 with the message.
BadInput = amresult.BadResult


def fail(msg):
    """Print one line to stderr and exit 2."""
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "plots"
    print(f"{prog}: {msg}", file=sys.stderr)
    sys.exit(2)


def engine_colour(name):
    """The engine's fixed colour; unknown names get a deterministic fallback."""
    if name in ENGINE_COLOURS:
        return ENGINE_COLOURS[name]
    h = int(hashlib.sha1(str(name).encode()).hexdigest(), 16)
    return FALLBACK_COLOURS[h % len(FALLBACK_COLOURS)]


def engine_sort_key(name):
    """Known engines in their fixed order, unknown ones after, by name."""
    return (ENGINE_ORDER.index(name) if name in ENGINE_ORDER else len(ENGINE_ORDER), name)


def load_result(path):
    """One result document, validated (amresult.load); raises BadInput naming the file."""
    doc = amresult.load(path)
    doc["_path"] = path
    return doc


def load_results(paths):
    """Every document, all of one schema; raises BadInput on the first bad one. A set of
    mixed schema versions is refused at its first file that is not SCHEMA, by name."""
    if not paths:
        raise BadInput("no result files given")
    return [load_result(p) for p in paths]


def engine_name(doc):
    return doc["engine"]["name"]


def workload_name(doc):
    return doc["workload"].get("name") or doc["config"].get("workload", "?")


def pyplot():
    """matplotlib.pyplot on the Agg backend, imported only once the input is known good
    (so refusing bad input is quick)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def setup_style():
    """Column-width, 8-point figures."""
    plt = pyplot()
    plt.rcParams.update({
        "font.size": FONT_SIZE,
        "axes.titlesize": FONT_SIZE,
        "axes.labelsize": FONT_SIZE,
        "xtick.labelsize": FONT_SIZE - 1,
        "ytick.labelsize": FONT_SIZE - 1,
        "legend.fontsize": FONT_SIZE - 1,
        "legend.frameon": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "pdf.fonttype": 42,
        "svg.hashsalt": "amethyst",
    })


def new_figure(width=COLUMN_SIZE[0], height=COLUMN_SIZE[1], **kw):
    setup_style()
    return pyplot().subplots(figsize=(width, height), **kw)


def save_figure(fig, out_stem):
    """Write out_stem.png (200 dpi) and out_stem.pdf; returns both paths."""
    d = os.path.dirname(out_stem)
    if d:
        os.makedirs(d, exist_ok=True)
    fig.tight_layout()
    png, pdf = out_stem + ".png", out_stem + ".pdf"
    fig.savefig(png, dpi=200)
    fig.savefig(pdf, metadata={"CreationDate": None, "ModDate": None})
    pyplot().close(fig)
    return png, pdf


def parser(description, add_args=None):
    """The shared command line: -o OUTSTEM FILE.json [FILE.json ...]."""
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", dest="out", required=True, metavar="OUTSTEM",
                   help="output path without extension: writes OUTSTEM.png and OUTSTEM.pdf")
    p.add_argument("files", nargs="+", metavar="FILE.json", help="amethystd result documents")
    if add_args:
        add_args(p)
    return p


def main(description, plot, argv=None, add_args=None):
    """Parse, load, call plot(docs, args) -> fig, save; exit 2 on bad input."""
    args = parser(description, add_args).parse_args(argv)
    try:
        docs = load_results(args.files)
        fig = plot(docs, args)
    except BadInput as e:
        fail(str(e))
    png, pdf = save_figure(fig, args.out)
    print(f"wrote {png} {pdf}")
    return 0


def by_engine(docs):
    """{engine: [docs]} in the fixed engine order (repeats of one engine together)."""
    out = {}
    for d in sorted(docs, key=lambda d: engine_sort_key(engine_name(d))):
        out.setdefault(engine_name(d), []).append(d)
    return out


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def phase_labels(docs):
    """Phase names in order, as 'index:name' when names repeat (shift has two 'write')."""
    seen = []
    for d in docs:
        for p in d["phases"]:
            key = (p.get("index"), p.get("name"))
            if key not in seen:
                seen.append(key)
    seen.sort(key=lambda k: (k[0] if k[0] is not None else 0))
    names = [n for _, n in seen]
    dup = len(set(names)) != len(names)
    return [(k, wrap_label(f"{k[0] + 1}:{k[1]}" if dup else str(k[1]))) for k in seen]


def wrap_label(text, width=12):
    """Break a long tick label at '-' or '_' so labels stay apart at column width."""
    if len(text) <= width:
        return text
    out, line = [], ""
    for part in re.split(r"(?<=[-_])", text):
        if line and len(line) + len(part) > width:
            out.append(line)
            line = ""
        line += part
    out.append(line)
    return "\n".join(out)


def legend_above(ax, ncol=None, y=1.02):
    """The legend in a band above the axes, so it hides no bar or line."""
    if ncol is None:
        n = len(ax.get_legend_handles_labels()[1])
        ncol = n if n <= 4 else 3
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, y), ncol=ncol, borderaxespad=0,
              handlelength=1.2, handletextpad=0.4, columnspacing=0.8)


def grouped_bars(ax, groups, series, values, ylabel):
    """Bars grouped by `groups` (x), one bar per series (engine) with its colour.

    values[(series, group)] -> number or None (missing bars are left out)."""
    n = max(len(series), 1)
    width = 0.8 / n
    for i, s in enumerate(series):
        xs, ys = [], []
        for j, g in enumerate(groups):
            v = values.get((s, g))
            if v is not None:
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(v)
        ax.bar(xs, ys, width=width, color=engine_colour(s), label=s,
               edgecolor="black", linewidth=0.3)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups)
    ax.set_ylabel(ylabel)


def log_axis(ax):
    """Log-scale y with plain numbers (1, 10, 100 ... and 2, 5 between when the range is short)."""
    from matplotlib.ticker import FuncFormatter, LogLocator
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
    lo, hi = ax.get_ylim()
    if lo > 0:  # start at a power of ten so bar heights compare honestly
        lo = 10 ** math.floor(math.log10(lo))
        ax.set_ylim(bottom=lo)
    ax.yaxis.set_minor_formatter(plain if hi / max(lo, 1e-12) < 100 else FuncFormatter(lambda v, _: ""))
