"""Tests of the figure scripts in plots/: each makes a non-empty PNG and PDF from the
committed fixtures (small cuts of real amethystd results, plots/tests/cut_fixture.py), and
each refuses bad input (missing file, malformed JSON, wrong schema, mixed schemas) with exit
status 2 and a one-line message naming the file.

Run from the repository root: /usr/bin/python3 -m unittest discover -s plots/tests -p 'test_*.py'
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PLOTS = os.path.dirname(HERE)
FIX = os.path.join(HERE, "fixtures")
sys.path.insert(0, PLOTS)
import common  # noqa: E402
import latency  # noqa: E402

SHIFT = [os.path.join(FIX, f"shift_{e}.json") for e in ("leveled", "adaptive", "leveldb")]
YCSB = [os.path.join(FIX, f"ycsb-{w}_{e}.json") for w in "ae" for e in ("leveled", "adaptive")]

# script, extra options, inputs
CASES = [
    ("phase_throughput.py", [], SHIFT),
    ("amplification.py", [], SHIFT),
    ("latency.py", [], SHIFT),
    ("latency.py", ["-kind", "cdf"], SHIFT),
    ("latency.py", ["-phase", "read"], SHIFT),
    ("timeline.py", [], SHIFT),
    ("timeline.py", ["-segments", "-tags", "leveled"], SHIFT),
    ("ycsb_summary.py", [], YCSB),
]
SCRIPTS = sorted({c[0] for c in CASES})


def run(script, *args):
    return subprocess.run([sys.executable, os.path.join(PLOTS, script), *args],
                          capture_output=True, text=True, timeout=120)


class Figures(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def test_every_script_writes_png_and_pdf(self):
        for i, (script, opts, inputs) in enumerate(CASES):
            with self.subTest(script=script, opts=opts):
                stem = os.path.join(self.tmp.name, "sub", f"fig{i}")
                r = run(script, "-o", stem, *opts, *inputs)
                self.assertEqual(r.returncode, 0, r.stderr)
                with open(stem + ".png", "rb") as f:
                    self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
                with open(stem + ".pdf", "rb") as f:
                    self.assertEqual(f.read(5), b"%PDF-")
                self.assertGreater(os.path.getsize(stem + ".png"), 5000)
                self.assertGreater(os.path.getsize(stem + ".pdf"), 5000)

    def test_help(self):
        for script in SCRIPTS:
            r = run(script, "-h")
            self.assertEqual(r.returncode, 0, script)
            self.assertIn("OUTSTEM", r.stdout)


class BadInput(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.stem = os.path.join(self.tmp.name, "out")

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def refused(self, inputs, *words):
        for script in SCRIPTS:
            with self.subTest(script=script):
                r = run(script, "-o", self.stem, *inputs)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertNotIn("Traceback", r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                for w in words:
                    self.assertIn(w, r.stderr)
                self.assertFalse(os.path.exists(self.stem + ".png"))

    def test_missing_file(self):
        path = os.path.join(self.tmp.name, "nope.json")
        self.refused([SHIFT[0], path], path, "no such file")

    def test_malformed_json(self):
        path = self.write("bad.json", '{"schema": "amethyst-result/1", "phases": [')
        self.refused([path], path, "malformed JSON")

    def test_wrong_schema(self):
        with open(SHIFT[0]) as f:
            doc = json.load(f)
        doc["schema"] = "amethyst-result/2"
        path = self.write("v2.json", json.dumps(doc))
        self.refused([path], path, "amethyst-result/2")

    def test_mixed_schemas(self):
        with open(SHIFT[1]) as f:
            doc = json.load(f)
        doc["schema"] = "amethyst-compare/1"
        path = self.write("other.json", json.dumps(doc))
        self.refused([SHIFT[0], path], path, "schema")

    def test_not_an_object(self):
        path = self.write("list.json", "[1, 2]")
        self.refused([path], path)

    def test_timeline_without_samples(self):
        with open(SHIFT[0]) as f:
            doc = json.load(f)
        doc["timeline"] = []
        path = self.write("nosamples.json", json.dumps(doc))
        r = run("timeline.py", "-o", self.stem, path)
        self.assertEqual(r.returncode, 2)
        self.assertIn(path, r.stderr)
        self.assertIn("-sample-ms", r.stderr)


class Units(unittest.TestCase):
    def test_percentiles_match_amethystd(self):
        """From an uncut histogram the script's percentiles are amethystd's own."""
        lat = {"max": 1000, "buckets": [[100, 110, 50], [200, 220, 40], [500, 550, 9],
                                        [990, 1100, 1]]}
        slot = {"buckets": {(lo, hi): n for lo, hi, n in lat["buckets"]}, "max": lat["max"]}
        self.assertEqual(latency.percentile(slot, 50), 110)
        self.assertEqual(latency.percentile(slot, 90), 220)
        self.assertEqual(latency.percentile(slot, 99), 550)
        self.assertEqual(latency.percentile(slot, 99.99), 1000)  # capped at max

    def test_cdf_ends_at_one(self):
        slot = {"buckets": {(1, 2): 1, (2, 4): 3}, "max": 3}
        self.assertEqual(latency.cdf_points(slot), [(1, 0.0), (2, 0.25), (4, 1.0)])

    def test_engine_colours_fixed_and_distinct(self):
        known = [common.engine_colour(e) for e in common.ENGINE_ORDER]
        self.assertEqual(len(set(known)), len(known))
        self.assertEqual(common.engine_colour("leveled"), "#0072B2")
        self.assertEqual(common.engine_colour("mystery"), common.engine_colour("mystery"))
        self.assertNotIn(common.engine_colour("mystery"), known)

    def test_phase_labels_number_repeated_names(self):
        docs = [common.load_result(SHIFT[0])]
        labels = [lab for _, lab in common.phase_labels(docs)]
        self.assertEqual(labels[0], "1:write")
        self.assertEqual(labels[2], "3:write")


if __name__ == "__main__":
    unittest.main()
