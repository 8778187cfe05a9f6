"""test_amresult.py: pylib/amresult.py, the one loader of result JSON: what it refuses and
how, and the counters it reads from a document (on two committed results and
small documents written here)."""
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import amresult  # noqa: E402

# Real amethystd results (2000 keys, shift) with the latency buckets and machine cut out.
FIXTURE = os.path.join(HERE, "fixtures", "shift_adaptive.json")
PEER = os.path.join(HERE, "fixtures", "shift_leveldb.json")


class Loading(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="amresult-test-")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def refused(self, path, words):
        with self.assertRaises(amresult.BadResult) as cm:
            amresult.load(path)
        self.assertIn(path, str(cm.exception))
        self.assertIn(words, str(cm.exception))

    def test_refuses_with_the_file_named(self):
        self.refused(os.path.join(self.dir, "none.json"), "no such file")
        self.refused(self.dir, "is a directory")
        self.refused(self.write("bad.json", '{"schema": "amethyst-result/1", "phases": ['),
                     "malformed JSON")
        self.refused(self.write("list.json", "[1, 2]"), "top level is not an object")
        self.refused(self.write("other.json", '{"schema": "amethyst-compare/1"}'),
                     "schema 'amethyst-compare/1', expected 'amethyst-result/1'")
        self.refused(self.write("shape.json", '{"schema": "amethyst-result/1", "engine": {}, '
                                '"workload": {}, "phases": [], "totals": 3}'),
                     "field 'totals' missing or not a dict")

    def test_loads_a_real_result(self):
        doc = amresult.load(FIXTURE)
        self.assertEqual(doc["schema"], amresult.SCHEMA)
        self.assertIsNone(amresult.unfinished(doc))

    def test_other_schemas_by_name(self):
        path = self.write("s.json", '{"schema": "s", "a": 1}')
        self.assertEqual(amresult.read_json(path, "s"), {"schema": "s", "a": 1})
        self.assertEqual(amresult.read_json(path), {"schema": "s", "a": 1})
        with self.assertRaises(amresult.BadResult):
            amresult.read_json(path, "t")

    def test_unfinished_says_why(self):
        doc = amresult.load(FIXTURE)
        self.assertIn("failed: boom", amresult.unfinished(dict(doc, error="boom")))
        self.assertIn("interrupted", amresult.unfinished(dict(doc, interrupted=True)))
        short = dict(doc, phases=doc["phases"][:1])
        self.assertEqual(amresult.unfinished(short),
                         "unfinished: 1 of %d phases" % len(doc["workload"]["phases"]))


class Counters(unittest.TestCase):
    def test_counters_by_the_documents_own_names(self):
        doc = amresult.load(FIXTURE)
        c = amresult.counters(doc["phases"][0])
        for name in ("ops", "bytes.user_written", "bytes.compaction_read", "compactions",
                     "write_amplification", "end_state.live_sst_bytes",
                     "end_state.segments_by_tag.leveled", "compactions_by_reason.L0",
                     "gets.found"):
            self.assertIn(name, c)
        self.assertEqual(c["bytes.user_written"], doc["phases"][0]["bytes"]["user_written"])
        for name in c:      # timings and the phase's description are not counters
            self.assertFalse(name.endswith(("seconds", "_sec", "_ns")) or "latency" in name, name)
        for name in ("name", "index", "ops_expected", "ops_per_sec", "stall_seconds"):
            self.assertNotIn(name, c)

    def test_nulls_are_kept_and_arrays_flattened(self):
        c = amresult.counters({"a": None, "b": {"c": [3, 4]}, "d": True, "e": "x",
                               "f_seconds": 1.5, "latency": {"read": {"p50": 9}}})
        self.assertEqual(c, {"a": None, "b.c.0": 3, "b.c.1": 4})
        self.assertEqual(amresult.dig({"b": {"c": [3, 4]}}, "b.c.1"), 4)
        self.assertIs(amresult.dig({"b": {"c": [3, 4]}}, "b.c.2"), amresult.MISSING)
        self.assertIs(amresult.dig({"b": 1}, "b.x"), amresult.MISSING)

    def test_a_peers_unavailable_counters_are_null(self):
        c = amresult.counters(amresult.load(PEER)["totals"])
        self.assertIsNone(c["blocks_read"])
        self.assertIsNone(c["end_state.segments_by_tag.leveled"])
        self.assertIsInstance(c["bytes.user_written"], int)


if __name__ == "__main__":
    unittest.main()
