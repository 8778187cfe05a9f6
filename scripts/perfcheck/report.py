"""report: perf-check's short text report, one line per metric that regressed."""


def fmt(v):
    """A counter value for the report: integers as they are, reals with 6 significant digits."""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def change(base, cur):
    """"+12.5%" (relative change), or "" when it has no meaning."""
    if isinstance(base, (int, float)) and isinstance(cur, (int, float)) \
            and not isinstance(base, bool) and base:
        return f"{(cur - base) / abs(base) * 100:+.2f}%"
    return ""


def counter_lines(diffs, limit=40):
    """One line per counter difference, at most `limit` (then a count of the rest)."""
    lines = []
    for d in diffs[:limit]:
        ch = change(d["base"], d["current"])
        lines.append(f"counter {d['run']} {d['group']} {d['counter']}: "
                     f"base {fmt(d['base'])}, current {fmt(d['current'])}"
                     + (f" ({ch})" if ch else "") + f" [{d['verdict']}]")
    if len(diffs) > limit:
        lines.append(f"... and {len(diffs) - limit} more counter differences")
    return lines


def throughput_lines(verdicts, threshold, only_regressed=True):
    """One line per phase (only those that regressed, unless only_regressed is False)."""
    lines = []
    for v in verdicts:
        if only_regressed and not v["regressed"]:
            continue
        lines.append(
            f"throughput {v['phase']} ops/s: base {v['base']:.0f}, current {v['current']:.0f} "
            f"(medians); median ratio of {v['pairs']} pairs {v['median_ratio']:.3f} "
            f"({(v['median_ratio'] - 1) * 100:+.1f}%, limit {-threshold * 100:.1f}%)"
            + ("" if v["regressed"] else " ok"))
    return lines
