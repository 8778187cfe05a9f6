"""throughput: the timed half of perf-check.

The base revision's amethystd is built in a temporary `git worktree`; then base (A) and
current (B) run alternately, A B A B ..., on one short workload, and each pair gives a
ratio current/base of ops/s per phase. A phase regressed when the median of its pairs'
ratios is below 1 - threshold: pairing puts each base run next to a current run, so a
slow spell of the machine hits both sides of a pair, and the median ignores the odd pair
it hit unevenly.
"""
import os
import shutil
import statistics
import subprocess
import tempfile

from . import common

SERIES_SCHEMA = "amethyst-perf-series/1"
DEFAULT_THRESHOLD = 0.15
DEFAULT_PAIRS = 9
DEFAULT_WORKLOAD = "fillrandom,readrandom"
DEFAULT_ENGINE = "leveled"
DEFAULT_KEYS = 200000


def git(repo, *args):
    """Output of `git -C repo args`, stripped; None if git fails."""
    p = subprocess.run(["git", "-C", repo] + list(args), capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def resolve_base(repo, rev=None):
    """(revision as given, commit) of the base. Without `rev`: the first of origin/main and
    main that names a commit other than HEAD, else HEAD~1. Usage if it names no commit."""
    if rev:
        commit = git(repo, "rev-parse", "--verify", "--quiet", rev + "^{commit}")
        if not commit:
            raise common.Usage(f"-base {rev}: not a commit in {repo}")
        return rev, commit
    head = git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    for cand in ("origin/main", "main", "HEAD~1"):
        commit = git(repo, "rev-parse", "--verify", "--quiet", cand + "^{commit}")
        if commit and (commit != head or cand == "HEAD~1"):
            return cand, commit
    raise common.Usage("no base revision: none of origin/main, main, HEAD~1 exists; give -base REV")


class BaseBuild:
    """Context manager: a temporary git worktree of `commit` with build/rel/amethystd built
    in it (make -j2); `.amethystd` is its path. The worktree is removed on exit."""

    def __init__(self, repo, commit, log=print, jobs=2):
        self.repo, self.commit, self.log, self.jobs = repo, commit, log, jobs
        self.dir = None
        self.amethystd = None

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="perf-check-base-")
        os.rmdir(self.dir)  # git worktree add wants to create it
        p = subprocess.run(["git", "-C", self.repo, "worktree", "add", "--detach", self.dir,
                            self.commit], capture_output=True, text=True)
        if p.returncode != 0:
            self.dir = None
            raise common.Usage(f"git worktree add {self.commit[:12]} failed: {p.stderr.strip()}")
        self.log(f"perf-check: building base {self.commit[:12]} in {self.dir} (make -j{self.jobs})")
        logf = os.path.join(self.dir, "perf-check-build.log")
        with open(logf, "w") as f:
            p = subprocess.run(["make", f"-j{self.jobs}", "build/rel/amethystd"], cwd=self.dir,
                               stdout=f, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            with open(logf) as f:
                tail = f.read().strip().splitlines()[-5:]
            self.__exit__(None, None, None)
            raise common.Usage(f"building base {self.commit[:12]} failed:\n  " + "\n  ".join(tail))
        self.amethystd = os.path.join(self.dir, "build", "rel", "amethystd")
        return self

    def __exit__(self, *exc):
        if self.dir:
            subprocess.run(["git", "-C", self.repo, "worktree", "remove", "--force", self.dir],
                           capture_output=True)
            shutil.rmtree(self.dir, ignore_errors=True)
            subprocess.run(["git", "-C", self.repo, "worktree", "prune"], capture_output=True)
            self.dir = None
        return False


def phase_rates(result):
    """{"<index>:<phase>": ops_per_sec} of one amethystd result (phases without a rate left out)."""
    return {f"{p.get('index')}:{p.get('name')}": p["ops_per_sec"]
            for p in result.get("phases") or [] if p.get("ops_per_sec")}


def run_pairs(base_bin, cur_bin, args, pairs, workdir, log=print):
    """Run base and current alternately, `pairs` times each (A B A B ...); the series
    [{"base": rates, "current": rates}, ...]."""
    series = []
    for i in range(pairs):
        pair = {}
        for side, binary in (("base", base_bin), ("current", cur_bin)):
            out = os.path.join(workdir, f"{side}-{i}.json")
            pair[side] = phase_rates(common.run_amethystd(binary, args, out))
        log(f"perf-check: pair {i + 1}/{pairs}: " + ", ".join(
            f"{ph} {pair['current'][ph] / pair['base'][ph]:.3f}"
            for ph in pair["base"] if ph in pair["current"]))
        series.append(pair)
    return series


def check_series(series, where="series"):
    """Usage unless `series` is a non-empty list of {"base": {phase: rate}, "current": {...}}
    with positive rates."""
    if not isinstance(series, list) or not series:
        raise common.Usage(f"{where}: needs a non-empty list of pairs")
    for i, pair in enumerate(series):
        if not isinstance(pair, dict):
            raise common.Usage(f"{where}: pair {i} is not an object")
        for side in ("base", "current"):
            rates = pair.get(side)
            if not isinstance(rates, dict):
                raise common.Usage(f"{where}: pair {i} has no `{side}` object")
            for ph, v in rates.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                    raise common.Usage(f"{where}: pair {i} {side}.{ph} is not a positive number")
    return series


def load_series(path):
    """A saved series (perf-check -save-series, or a test fixture)."""
    doc = common.load_json(path, SERIES_SCHEMA)
    return check_series(doc.get("pairs"), path)


def judge(series, threshold=DEFAULT_THRESHOLD):
    """Per phase present in every pair: {phase, pairs, ratios, median_ratio, base, current,
    regressed}, base and current being the medians of the sides' ops/s. A phase regressed
    when median_ratio < 1 - threshold."""
    check_series(series)
    if not 0 <= threshold < 1:
        raise common.Usage(f"threshold {threshold}: must be in [0, 1)")
    phases = [ph for ph in series[0]["base"]
              if all(ph in p["base"] and ph in p["current"] for p in series)]
    if not phases:
        raise common.Usage("series: no phase is present in every pair on both sides")
    verdicts = []
    for ph in phases:
        ratios = [p["current"][ph] / p["base"][ph] for p in series]
        med = statistics.median(ratios)
        verdicts.append({
            "phase": ph, "pairs": len(ratios), "ratios": ratios, "median_ratio": med,
            "base": statistics.median(p["base"][ph] for p in series),
            "current": statistics.median(p["current"][ph] for p in series),
            "regressed": med < 1 - threshold})
    return verdicts
