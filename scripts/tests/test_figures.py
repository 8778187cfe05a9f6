"""test_figures.py: scripts/figures (make test runs it with AMETHYSTD set).

-from the committed plot fixtures (plots/tests/fixtures): every figure and index.md;
bad input refused with exit 2; and one tiny real run set (-keys 2000), run twice to check
that the second reuses the first's results.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(ROOT, "scripts", "figures")
FIX = os.path.join(ROOT, "plots", "tests", "fixtures")
AMETHYSTD = os.path.abspath(os.environ.get("AMETHYSTD", os.path.join(ROOT, "build", "rel", "amethystd")))
FIGURES = ["shift_throughput", "shift_amplification", "shift_latency", "shift_latency_cdf",
           "shift_timeline", "shift_timeline_segments", "ycsb_summary"]


def figures(*args):
    return subprocess.run(["/usr/bin/python3", SCRIPT, *args], capture_output=True, text=True,
                          timeout=300)


class Figures(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def check_outputs(self, out, runs):
        for name in FIGURES:
            for ext in ("png", "pdf"):
                path = os.path.join(out, f"{name}.{ext}")
                self.assertGreater(os.path.getsize(path), 5000, path)
        with open(os.path.join(out, "index.md")) as f:
            index = f.read()
        for name in FIGURES:
            self.assertIn(f"![{name}]({name}.png)", index)
            self.assertIn(f"[PDF]({name}.pdf)", index)
        self.assertIn("/usr/bin/python3 plots/phase_throughput.py", index)
        self.assertIn("amethystd -workload shift -engine adaptive", index)
        self.assertIn("strategy=adaptive", index)
        self.assertEqual(index.count("\n| `"), runs)

    def test_from_fixtures(self):
        out = os.path.join(self.tmp, "figs")
        r = figures("-from", FIX, "-out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check_outputs(out, len(os.listdir(FIX)))

    def test_from_refuses_bad_input(self):
        d = os.path.join(self.tmp, "in")
        os.mkdir(d)
        shutil.copy(os.path.join(FIX, "shift_leveled.json"), d)
        bad = os.path.join(d, "summary.json")
        with open(bad, "w") as f:
            f.write('{"schema": "amethyst-compare/1"}')
        r = figures("-from", d, "-out", os.path.join(self.tmp, "o"))
        self.assertEqual(r.returncode, 2)
        self.assertIn(bad, r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        r = figures("-from", os.path.join(self.tmp, "none"), "-out", os.path.join(self.tmp, "o"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("not a directory", r.stderr)

    @unittest.skipUnless(os.access(AMETHYSTD, os.X_OK), "no amethystd built")
    def test_tiny_run_set_and_resume(self):
        out = os.path.join(self.tmp, "figs")
        args = ["-amethystd", AMETHYSTD, "-keys", "2000", "-sample-ms", "10", "-out", out]
        r = figures(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check_outputs(out, 16)
        r = figures(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.count("reusing"), 16, r.stderr)


if __name__ == "__main__":
    unittest.main()
