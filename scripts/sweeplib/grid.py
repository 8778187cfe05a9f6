"""The grid: engines x workloads x key counts x value sizes x seeds.

A point is one amethystd run. Its name, <engine>_<workload>_k<keys>_v<vsize>_s<seed>, names
its result file DIR/runs/<name>.json. A workload in the grid is an amethystd -workload
value, except that a db_bench chain is written with '+' (fillrandom+readrandom), since ','
separates the grid's workloads; a workload file is given by its path (FILE.json) and named
by its base name.
"""
import os
import re
import shlex
import subprocess


class Usage(Exception):
    """A bad option or value: exit 2."""


# Options the grid sets itself, which -args may not repeat.
GRID_OPTIONS = ("engine", "workload", "keys", "value-size", "seed", "out", "db")


class Point:
    """One grid point: an amethystd run."""

    def __init__(self, engine, workload, keys, value_size, seed):
        self.engine, self.workload = engine, workload
        self.keys, self.value_size, self.seed = keys, value_size, seed

    @property
    def name(self):
        return "%s_%s_k%d_v%d_s%d" % (self.engine, workload_label(self.workload), self.keys,
                                      self.value_size, self.seed)

    def result_path(self, outdir):
        return os.path.join(outdir, "runs", self.name + ".json")

    def command(self, amethystd, outdir, extra):
        """The amethystd argv of this point."""
        return [amethystd, "-engine", self.engine, "-workload", self.workload.replace("+", ","),
                "-keys", str(self.keys), "-value-size", str(self.value_size),
                "-seed", str(self.seed), "-out", self.result_path(outdir), "-quiet"] + extra

    def as_dict(self):
        return {"name": self.name, "engine": self.engine, "workload": self.workload,
                "keys": self.keys, "value_size": self.value_size, "seed": self.seed}


def workload_label(workload):
    """The workload's part of a file name: a file's base name without .json, characters
    other than letters, digits, '.', '+' and '-' replaced by '-'."""
    if workload.endswith(".json"):
        workload = os.path.basename(workload)[:-len(".json")]
    return re.sub(r"[^A-Za-z0-9.+-]", "-", workload)


def split_list(option, text):
    """A comma list: no empty items, no duplicates."""
    items = [x.strip() for x in text.split(",")]
    if not text.strip() or any(not x for x in items):
        raise Usage("%s: empty, or an empty item in '%s'" % (option, text))
    if len(set(items)) != len(items):
        raise Usage("%s: an item is listed twice in '%s'" % (option, text))
    return items


def split_ints(option, text, lo=1):
    out = []
    for x in split_list(option, text):
        try:
            v = int(x)
        except ValueError:
            raise Usage("%s: '%s' is not an integer" % (option, x)) from None
        if v < lo:
            raise Usage("%s: %d is below %d" % (option, v, lo))
        out.append(v)
    return out


def amethystd_list(amethystd):
    try:
        return subprocess.run([amethystd, "-list"], check=True, capture_output=True,
                              text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise Usage("%s -list failed: %s" % (amethystd, e)) from None


def list_workloads(listing):
    """Built-in workload names from `amethystd -list` output."""
    names, inside = [], False
    for line in listing.splitlines():
        if line.startswith("workloads:"):
            inside = True
        elif inside:
            if not line.startswith(" "):
                break
            name = line.split()[0]
            if "," not in name and not name.endswith(".json"):
                names.append(name)
    return names


def check_workloads(workloads, known):
    """Refuses before any run a workload amethystd would refuse: a name it does not have,
    or a workload file that does not exist. (A chain's parts must be db_bench names;
    amethystd checks that.)"""
    for w in workloads:
        if w.endswith(".json"):
            if not os.path.isfile(w):
                raise Usage("workload file %s: no such file" % w)
            continue
        for part in w.split("+"):
            if part not in known:
                raise Usage("unknown workload '%s'; amethystd has: %s (a db_bench chain is "
                            "written a+b; a file as FILE.json)" % (part, ", ".join(known)))


def list_engines(listing):
    """Engine names from `amethystd -list` output: (canonical names, {alias: canonical})."""
    out = listing
    names, aliases, inside = [], {}, False
    for line in out.splitlines():
        if line.startswith("engines:"):
            inside = True
        elif inside:
            if not line.startswith(" "):
                break
            name = line.split()[0]
            names.append(name)
            m = re.search(r"\(also ([^)]*)\)", line)
            if m:
                for a in m.group(1).split(","):
                    aliases[a.strip()] = name
    return names, aliases


def canonical_engines(given, known, aliases):
    out = []
    for e in given:
        c = e if e in known else aliases.get(e)
        if c is None:
            raise Usage("unknown engine '%s'; amethystd has: %s" % (e, ", ".join(known)))
        if c in out:
            raise Usage("-engines: %s is listed twice (as %s)" % (c, e))
        out.append(c)
    return out


def check_args(extra):
    """-args as an argv list; refuses the options the grid sets."""
    try:
        argv = shlex.split(extra)
    except ValueError as e:
        raise Usage("-args: %s" % e) from None
    for a in argv:
        if a.startswith("-"):
            opt = a.lstrip("-").split("=")[0]
            if opt in GRID_OPTIONS:
                raise Usage("-args: -%s is set by the sweep (use the grid's options)" % opt)
    return argv


def points(engines, workloads, keys, value_sizes, seeds):
    """Every point, seeds outermost and engines innermost: a sweep cut short has every
    engine of the first seeds, and engines alternate so none always runs first."""
    out = [Point(e, w, k, v, s) for s in seeds for k in keys for v in value_sizes
           for w in workloads for e in engines]
    names = {}
    for p in out:
        if p.name in names:
            raise Usage("two workloads give the same file name %s: %s and %s"
                        % (p.name, names[p.name].workload, p.workload))
        names[p.name] = p
    return out
