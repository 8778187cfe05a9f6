"""amresult: amethystd's result documents (schema "amethyst-result/1", docs/results.md),
for every Python tool of the repository: the figure scripts (plots/), perf-check,
compare, sweep and figures (scripts/). Python 3 standard library only.

Owns:
  read_json(path, schema)   any of the repository's JSON documents, its `schema` checked;
  load(path)                a result document, its shape checked (check);
  unfinished(doc)           why a result is not a finished run, or None;
  counters(window)          the engine and harness counters of a phase or totals object,
                            by the names the document itself gives them: every number
                            (or null) in it but the timings.

Errors are BadResult with a one-line message that names the file; each tool turns it into
its own exit status. Import it with pylib/ on sys.path (the tools add it themselves).
"""
import json

SCHEMA = "amethyst-result/1"


class BadResult(Exception):
    """A file that is missing, unreadable, not JSON, of another schema or not the shape of
    a result; the message names the file."""


def read_json(path, schema=None):
    """The JSON document in path; BadResult if it is missing, unreadable, malformed, or
    (schema given) not an object whose `schema` is schema."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise BadResult(f"{path}: no such file")
    except IsADirectoryError:
        raise BadResult(f"{path}: is a directory")
    except OSError as e:
        raise BadResult(f"{path}: cannot read: {e.strerror or e}")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadResult(f"{path}: malformed JSON: {e}")
    if schema is not None:
        if not isinstance(doc, dict):
            raise BadResult(f"{path}: not a {schema} document (top level is not an object)")
        if doc.get("schema") != schema:
            raise BadResult(f"{path}: schema {doc.get('schema')!r}, expected {schema!r}")
    return doc


def check(doc, path):
    """BadResult unless doc has the top-level shape of a result document."""
    for key, typ in (("engine", dict), ("workload", dict), ("phases", list), ("totals", dict)):
        if not isinstance(doc.get(key), typ):
            raise BadResult(f"{path}: field {key!r} missing or not a {typ.__name__}")
    if not isinstance(doc["engine"].get("name"), str):
        raise BadResult(f"{path}: field 'engine.name' missing")
    return doc


def load(path):
    """The result document in path, schema and shape checked; BadResult otherwise."""
    return check(read_json(path, SCHEMA), path)


def unfinished(doc):
    """None when doc is a finished run, else why not (a short phrase): the run failed,
    was interrupted, or has fewer phases than its workload defines."""
    if doc.get("error"):
        return f"the run failed: {doc['error']}"
    if doc.get("interrupted"):
        return "the run was interrupted"
    defined = (doc.get("workload") or {}).get("phases") or []
    done = doc.get("phases")
    if not isinstance(done, list) or len(done) != len(defined):
        return f"unfinished: {len(done or [])} of {len(defined)} phases"
    return None


def is_timing(key):
    """A field that holds a time (docs/results.md: seconds end in _seconds or _sec, ns and ms
    say so), or the latency histograms: never deterministic, never a counter."""
    return (key == "latency" or key == "seconds" or key.endswith("_seconds")
            or key.endswith("_sec") or key.endswith("_ns") or key.endswith("_ms"))


# Fields of a phase that describe it rather than count anything.
NOT_COUNTERS = ("name", "index", "ops_expected")


def counters(window):
    """{path: value} for every counter of a phase or totals object (window): each number
    or null in it, nested objects flattened to dotted paths ("bytes.user_written",
    "end_state.live_sst_bytes") and arrays to their indices ("...compaction_read_by_level.2"),
    timings and the phase's own description left out. A counter the document adds is
    found without a change here."""
    out = {}

    def walk(obj, prefix):
        items = obj.items() if isinstance(obj, dict) else enumerate(obj)
        for k, v in items:
            key = str(k)
            if isinstance(obj, dict) and (is_timing(key) or (not prefix and key in NOT_COUNTERS)):
                continue
            if isinstance(v, (dict, list)):
                walk(v, prefix + key + ".")
            elif v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)):
                out[prefix + key] = v
    walk(window, "")
    return out


MISSING = object()


def dig(obj, path):
    """obj["a"]["b"] (or a list's element "2") for path "a.b"; MISSING when a step is
    missing."""
    for part in path.split("."):
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return MISSING
    return obj
