"""common: what both parts of perf-check share: the Usage error (exit 2), JSON files with
a checked `schema` (read by pylib/amresult.py), and one amethystd run."""
import json
import os
import subprocess
import sys
import tempfile

_PYLIB = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "pylib")
if _PYLIB not in sys.path:
    sys.path.insert(0, _PYLIB)
import amresult  # noqa: E402

RESULT_SCHEMA = amresult.SCHEMA


class Usage(Exception):
    """Bad usage, bad input or a failed build / run: perf-check exits 2 with this message."""


def load_json(path, schema=None):
    """The document in `path`; Usage if missing, malformed, or of another `schema`."""
    try:
        return amresult.read_json(path, schema)
    except amresult.BadResult as e:
        raise Usage(str(e))


def write_json(path, doc):
    """Write `doc` sorted and indented, atomically (temporary file and rename)."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def run_amethystd(amethystd, args, out):
    """Run `amethystd args -quiet -out out` and return its result document; Usage if it
    fails or writes no valid result."""
    cmd = [amethystd] + list(args) + ["-quiet", "-out", out]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise Usage(f"cannot run {amethystd}: {e}")
    if p.returncode != 0:
        tail = (p.stderr or "").strip().splitlines()[-3:]
        raise Usage(f"{' '.join(cmd)} exited {p.returncode}: " + " / ".join(tail))
    try:
        doc = amresult.load(out)
    except amresult.BadResult as e:
        raise Usage(str(e))
    why = amresult.unfinished(doc)
    if why:
        raise Usage(f"{out}: the run did not finish: {why}")
    return doc


def check_executable(path, what):
    """Usage unless `path` is an executable file."""
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise Usage(f"{what} {path}: not an executable file (build it: make build/rel/amethystd)")
