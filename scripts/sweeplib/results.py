"""Whether a result file is a valid, finished run of a grid point."""
import json

SCHEMA = "amethyst-result/1"


def load(path):
    """The document at path, or None when it is missing, unreadable or not JSON."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def problem(doc, point):
    """None when doc is a finished run of point, else why not (a short phrase)."""
    if not isinstance(doc, dict):
        return "missing or not JSON"
    if doc.get("schema") != SCHEMA:
        return "schema %r, not %s" % (doc.get("schema"), SCHEMA)
    if doc.get("error"):
        return "the run failed: %s" % doc["error"]
    if doc.get("interrupted"):
        return "the run was interrupted"
    cfg = doc.get("config") or {}
    want = {"engine": point.engine, "keys": point.keys, "value_size": point.value_size,
            "seed": point.seed}
    for k, v in want.items():
        if cfg.get(k) != v:
            return "config.%s is %r, not %r" % (k, cfg.get(k), v)
    defined = (doc.get("workload") or {}).get("phases") or []
    if not isinstance(doc.get("phases"), list) or len(doc["phases"]) != len(defined):
        return "unfinished: %d of %d phases" % (len(doc.get("phases") or []), len(defined))
    return None


def valid(path, point):
    """The document at path if it is a finished run of point, else None."""
    doc = load(path)
    return doc if problem(doc, point) is None else None
