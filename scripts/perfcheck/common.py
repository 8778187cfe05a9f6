"""common: what both parts of perf-check share: the Usage error (exit 2), JSON files with
a checked `schema`, and one amethystd run."""
import json
import os
import subprocess
import tempfile

RESULT_SCHEMA = "amethyst-result/1"


class Usage(Exception):
    """Bad usage, bad input or a failed build / run: perf-check exits 2 with this message."""


def load_json(path, schema=None):
    """The document in `path`; Usage if missing, malformed, or of another `schema`."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise Usage(f"{path}: no such file")
    except (OSError, UnicodeDecodeError) as e:
        raise Usage(f"{path}: cannot read: {e}")
    except json.JSONDecodeError as e:
        raise Usage(f"{path}: malformed JSON: {e}")
    if schema is not None:
        got = doc.get("schema") if isinstance(doc, dict) else None
        if got != schema:
            raise Usage(f"{path}: schema is {got!r}, expected {schema!r}")
    return doc


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
    doc = load_json(out, RESULT_SCHEMA)
    if doc.get("error") or doc.get("interrupted"):
        raise Usage(f"{out}: the run did not finish: {doc.get('error') or 'interrupted'}")
    return doc


def check_executable(path, what):
    """Usage unless `path` is an executable file."""
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise Usage(f"{what} {path}: not an executable file (build it: make build/rel/amethystd)")
