"""test_compare.py: scripts/compare on small runs (make test runs it with AMETHYSTD set).

Unit parts on made-up result files (planning, medians and ratios, null handling, the docs
markers) and one small real sitting: three engines, both workload groups, two repeats, 2000
keys; its summary, table and docs block are checked against the run files themselves.
"""
import importlib.machinery
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "compare")
AMETHYSTD = os.environ.get("AMETHYSTD", os.path.join(HERE, "..", "..", "build", "rel", "amethystd"))


def load_compare():
    loader = importlib.machinery.SourceFileLoader("compare", SCRIPT)
    spec = importlib.util.spec_from_loader("compare", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


compare = load_compare()


def fake_result(path, phases, totals=None, schema="amethyst-result/1"):
    doc = {"schema": schema, "engine": {"name": "x"}, "workload": {"name": "w"},
           "phases": [], "totals": totals or {}, "interrupted": False, "error": None}
    for i, (name, ops, wa, user, flush, comp) in enumerate(phases):
        doc["phases"].append({"name": name, "index": i, "ops_per_sec": ops,
                              "write_amplification": wa, "seconds": 1000.0 / ops,
                              "settle_seconds": 0.5,
                              "bytes": {"user_written": user, "flush_written": flush,
                                        "compaction_written": comp}})
    with open(path, "w") as f:
        json.dump(doc, f)


class Units(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="compare-test-")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_plan_alternates_and_covers(self):
        groups = compare.plan_groups(["dbbench", "shift", "ycsb-a"])
        self.assertEqual([g[2] for g in groups],
                         [compare.DBBENCH_FILLSEQ, compare.DBBENCH_CHAIN, "shift", "ycsb-a"])
        self.assertEqual([g[3] for g in groups], [100, 100, 256, None])
        self.assertEqual([g[4] for g in groups], [True, True, False, False])
        order = compare.plan(["a", "b", "c"], groups[:1], 3)
        self.assertEqual([(r, e) for r, _, e in order],
                         [(0, "a"), (0, "b"), (0, "c"), (1, "b"), (1, "c"), (1, "a"),
                          (2, "c"), (2, "a"), (2, "b")])

    def test_write_amp_over_phases(self):
        p = lambda u, f, c: {"bytes": {"user_written": u, "flush_written": f,
                                       "compaction_written": c}}
        self.assertAlmostEqual(compare.phase_write_amp([p(100, 100, 300), p(100, 100, 500)]), 5.0)
        self.assertIsNone(compare.phase_write_amp([p(100, 100, None)]))   # unavailable: null
        self.assertIsNone(compare.phase_write_amp([p(0, 0, 0)]))          # undefined: null

    def test_medians_and_ratios(self):
        runs = []
        vals = {"x": [(100.0, 2.0), (300.0, 4.0)], "ref": [(100.0, 5.0), (100.0, None)]}
        for e, rs in vals.items():
            for r, (ops, wa) in enumerate(rs):
                path = os.path.join(self.dir, "%s%d.json" % (e, r))
                fake_result(path, [("fillrandom", ops, wa, 100, 100, 100),
                                   ("overwrite", ops, wa, 100, 100, None if wa is None else 300)])
                runs.append({"group": "dbbench", "engine": e, "path": path, "exit_status": 0})
        runs.append({"group": "dbbench", "engine": "x", "path": "/nonexistent",   # failed:
                     "exit_status": 1, "run": "fillrandom-chain", "repeat": 3,    # left out
                     "error": "boom"})
        wrong = os.path.join(self.dir, "wrong.json")                  # exit 0, but not a
        fake_result(wrong, [("fillrandom", 1e9, 0.1, 1, 1, 1)], schema="amethyst-result/2")
        runs.append({"group": "dbbench", "engine": "x", "path": wrong, "exit_status": 0,
                     "run": "fillrandom-chain", "repeat": 4, "error": None})   # result: left out
        rows = {r["row"]: r for r in compare.summarize(runs, ["x", "ref"], "ref")}
        self.assertEqual(runs[-1]["exit_status"], 1)
        self.assertIn("schema 'amethyst-result/2'", runs[-1]["error"])
        fr = rows["fillrandom"]["engines"]
        self.assertEqual(fr["x"]["median_ops_per_sec"], 200.0)
        self.assertEqual(fr["x"]["ratio"], 2.0)
        self.assertEqual(fr["ref"]["ratio"], 1.0)
        self.assertEqual(fr["x"]["runs"], 2)
        self.assertEqual(fr["x"]["spread"], 1.0)                       # (300 - 100) / 200
        self.assertEqual(fr["x"]["median_write_amplification"], 3.0)
        self.assertEqual(fr["ref"]["median_write_amplification"], 5.0)  # the null is skipped
        fo = rows["fillrandom+overwrite"]["engines"]
        self.assertAlmostEqual(fo["x"]["median_write_amplification"], 3.0)
        self.assertIsNone(fo["x"]["median_ops_per_sec"])
        # without ops/s the ratio is the reference's seconds over the engine's
        self.assertAlmostEqual(fo["x"]["ratio"], 20.0 / ((20.0 + 20.0 / 3) / 2), places=6)
        text = compare.plain_table({"config": {"keys": 10, "repeat": 2, "reference": "ref",
                                               "engines": ["x", "ref"]},
                                    "rows": list(rows.values()), "runs": runs})
        self.assertIn("200", text)
        self.assertIn("2.00x", text)
        self.assertIn("FAILED: x", text)

    def test_docs_markers(self):
        path = os.path.join(self.dir, "doc.md")
        with open(path, "w") as f:
            f.write("before\n%s\nold table\n%s\nafter\n" % (compare.BEGIN, compare.END))
        compare.update_docs(path, "new table\n")
        with open(path) as f:
            self.assertEqual(f.read(), "before\n%s\nnew table\n%s\nafter\n"
                             % (compare.BEGIN, compare.END))
        with open(path, "w") as f:
            f.write("no markers\n")
        with self.assertRaises(compare.Usage):
            compare.update_docs(path, "x\n")

    def test_docs_sections(self):
        """Two named tables in one file: each update touches its own section only."""
        path = os.path.join(self.dir, "sections.md")
        a, b = compare.markers("bloom0"), compare.markers("bloom10")
        with open(path, "w") as f:
            f.write("%s\nA\n%s\nmid\n%s\nB\n%s\n" % (a[0], a[1], b[0], b[1]))
        compare.update_docs(path, "new B\n", "bloom10")
        with open(path) as f:
            self.assertEqual(f.read(), "%s\nA\n%s\nmid\n%s\nnew B\n%s\n"
                             % (a[0], a[1], b[0], b[1]))
        with self.assertRaises(compare.Usage):
            compare.update_docs(path, "x\n", "missing")
        with self.assertRaises(compare.Usage):   # the unnamed markers are not there
            compare.update_docs(path, "x\n")


@unittest.skipUnless(os.access(AMETHYSTD, os.X_OK), "amethystd not built")
class SmallSitting(unittest.TestCase):
    ENGINES = ["leveled", "rocksdb-leveled", "leveldb"]

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="compare-run-")
        cls.docs = os.path.join(cls.dir, "engines.md")
        with open(cls.docs, "w") as f:
            f.write("# doc\n%s\n%s\ntail\n" % (compare.BEGIN, compare.END))
        cls.out = os.path.join(cls.dir, "out")
        cls.proc = subprocess.run(
            [sys.executable, SCRIPT, "-amethystd", AMETHYSTD, "-keys", "2000", "-repeat", "2",
             "-engines", ",".join(cls.ENGINES), "-reference", "leveldb", "-out", cls.out,
             "-args", "-memtable-mb 0.0625", "-update-docs", cls.docs],
            capture_output=True, text=True)
        with open(os.path.join(cls.out, "summary.json")) as f:
            cls.summary = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def test_every_run_ran_and_alternated(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        runs = self.summary["runs"]
        self.assertEqual(len(runs), 2 * 3 * len(self.ENGINES))   # repeats x runs x engines
        for r in runs:
            self.assertEqual(r["exit_status"], 0, r)
            self.assertTrue(os.path.exists(r["path"]))
        # one build for the sitting: the copy in the out directory
        self.assertEqual(len(self.summary["revisions"]), 1)
        self.assertTrue(os.path.exists(os.path.join(self.out, "amethystd")))
        self.assertIn(os.path.join(self.out, "amethystd"), runs[0]["command"])
        first = [r["engine"] for r in runs if r["repeat"] == 1 and r["run"] == "fillseq"]
        second = [r["engine"] for r in runs if r["repeat"] == 2 and r["run"] == "fillseq"]
        self.assertEqual(sorted(first), sorted(self.ENGINES))
        self.assertNotEqual(first, second)

    def test_medians_come_from_the_runs(self):
        rows = {(r["group"], r["row"]): r for r in self.summary["rows"]}
        want = ["fillseq", "fillrandom", "overwrite", "readrandom", "readmissing", "seekrandom",
                "fillrandom+overwrite"]
        for name in want:
            self.assertIn(("dbbench", name), rows)
        for name in ["1 write", "2 read", "3 write", "4 read-after-overwrites", "total"]:
            self.assertIn(("shift", name), rows)
        for (group, name), row in rows.items():
            ref = row["engines"]["leveldb"]
            if ref["median_ops_per_sec"] is not None:
                self.assertEqual(ref["ratio"], 1.0)
            for e in self.ENGINES:
                c = row["engines"][e]
                self.assertEqual(c["runs"], 2)
                if name in ("fillrandom+overwrite", "total"):
                    continue
                vals = []
                for r in self.summary["runs"]:
                    if r["engine"] != e or r["group"] != group:
                        continue
                    with open(r["path"]) as f:
                        doc = json.load(f)
                    for p in doc["phases"]:
                        key = p["name"] if group == "dbbench" else "%d %s" % (p["index"] + 1,
                                                                               p["name"])
                        if key == name:
                            vals.append(p["ops_per_sec"])
                self.assertEqual(len(vals), 2)
                self.assertAlmostEqual(c["median_ops_per_sec"], statistics.median(vals))
                if ref["median_ops_per_sec"]:
                    self.assertAlmostEqual(c["ratio"], c["median_ops_per_sec"] /
                                           ref["median_ops_per_sec"])
        # Writes reached SSTables (tiny memtable): every engine's fill has a write amp.
        for e in self.ENGINES:
            self.assertGreater(rows[("dbbench", "fillrandom")]["engines"][e]
                               ["median_write_amplification"], 0)

    def test_table_and_docs(self):
        out = self.proc.stdout
        for e in self.ENGINES:
            self.assertIn(e, out)
        for name in ["fillseq", "readmissing", "seekrandom", "read-after-overwrites", "total"]:
            self.assertIn(name, out)
        with open(self.docs) as f:
            doc = f.read()
        self.assertTrue(doc.startswith("# doc\n%s\n" % compare.BEGIN))
        self.assertTrue(doc.endswith("%s\ntail\n" % compare.END))
        self.assertIn("| dbbench | fillseq |", doc)
        self.assertIn("2000 keys, 2 repeats", doc)

    def test_usage_errors(self):
        for extra in (["-engines", "leveled,nosuch"], ["-engines", "leveled", "-reference",
                                                       "leveldb"], ["-keys", "0"]):
            p = subprocess.run([sys.executable, SCRIPT, "-amethystd", AMETHYSTD,
                                "-out", os.path.join(self.dir, "bad")] + extra,
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, extra)
            self.assertIn("compare:", p.stderr)


if __name__ == "__main__":
    unittest.main()
