"""Whether a result file is a valid, finished run of a grid point (the document read and
judged by pylib/amresult.py)."""
import os
import sys

_PYLIB = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "pylib")
if _PYLIB not in sys.path:
    sys.path.insert(0, _PYLIB)
import amresult  # noqa: E402

SCHEMA = amresult.SCHEMA


def load(path):
    """The document at path, or None when it is missing, unreadable or not JSON."""
    try:
        return amresult.read_json(path)
    except amresult.BadResult:
        return None


def problem(doc, point):
    """None when doc is a finished run of point, else why not (a short phrase)."""
    if not isinstance(doc, dict):
        return "missing or not JSON"
    if doc.get("schema") != SCHEMA:
        return "schema %r, not %s" % (doc.get("schema"), SCHEMA)
    why = amresult.unfinished(doc)
    if why and not why.startswith("unfinished"):
        return why
    cfg = doc.get("config") or {}
    want = {"engine": point.engine, "keys": point.keys, "value_size": point.value_size,
            "seed": point.seed}
    for k, v in want.items():
        if cfg.get(k) != v:
            return "config.%s is %r, not %r" % (k, cfg.get(k), v)
    return why


def valid(path, point):
    """The document at path if it is a finished run of point, else None."""
    doc = load(path)
    return doc if problem(doc, point) is None else None
