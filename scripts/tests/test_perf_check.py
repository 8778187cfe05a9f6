"""test_perf_check.py: scripts/perf-check's judging on small committed fixtures
(scripts/tests/fixtures/perf/); no build and no amethystd run.

Counters: a result cut down from a real shift run on leveled (result_base.json), the same
with more compaction (result_regressed.json) and with other timings only
(result_timing_only.json), and a baseline made from result_base.json. Throughput: saved
series of five A/B pairs, one with a single noisy pair (median ratio ~0.99) and one with
fillrandom ~20% slower (median ratio ~0.80). Bad input must exit 2.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.dirname(HERE)
FIX = os.path.join(HERE, "fixtures", "perf")
SCRIPT = os.path.join(SCRIPTS, "perf-check")
sys.path.insert(0, SCRIPTS)
from perfcheck import common, counters, report, throughput  # noqa: E402


def fixture(name):
    with open(os.path.join(FIX, name)) as f:
        return json.load(f)


def perf_check(*args):
    return subprocess.run([sys.executable, SCRIPT] + list(args), capture_output=True, text=True)


class Counters(unittest.TestCase):
    def setUp(self):
        self.baseline = counters.load_baseline(os.path.join(FIX, "baselines", "shift-leveled.json"))

    def test_extract_takes_counters_not_timings(self):
        got = counters.extract(fixture("result_base.json"))
        self.assertEqual(sorted(got), ["0:write", "1:read", "totals"])
        self.assertEqual(got["0:write"]["compactions"], 26)
        self.assertIn("bytes.compaction_written", got["0:write"])
        for vals in got.values():
            self.assertFalse([k for k in vals if "sec" in k or "latency" in k])

    def test_identical_run_passes(self):
        cur = counters.extract(fixture("result_base.json"))
        self.assertEqual(counters.compare("shift-leveled", self.baseline["counters"], cur), [])

    def test_timings_do_not_count(self):
        cur = counters.extract(fixture("result_timing_only.json"))
        self.assertEqual(counters.compare("shift-leveled", self.baseline["counters"], cur), [])

    def test_clear_regression_is_caught_and_named(self):
        cur = counters.extract(fixture("result_regressed.json"))
        diffs = counters.compare("shift-leveled", self.baseline["counters"], cur)
        named = {(d["group"], d["counter"]): d for d in diffs}
        self.assertIn(("0:write", "compactions"), named)
        self.assertIn(("0:write", "write_amplification"), named)
        self.assertIn(("0:write", "bytes.compaction_written"), named)
        self.assertEqual(named[("0:write", "compactions")]["verdict"], "worse")
        self.assertEqual(counters.failing(diffs, allow_improvements=True), diffs)
        lines = report.counter_lines(diffs)
        line = [l for l in lines if " compactions:" in l][0]
        self.assertIn("shift-leveled 0:write compactions: base 26, current 32 (+23.08%) [worse]", line)

    def test_improvement_can_be_allowed(self):
        cur = copy.deepcopy(self.baseline["counters"])
        cur["0:write"]["compactions"] -= 3
        diffs = counters.compare("x", self.baseline["counters"], cur)
        self.assertEqual([d["verdict"] for d in diffs], ["better"])
        self.assertEqual(counters.failing(diffs), diffs)
        self.assertEqual(counters.failing(diffs, allow_improvements=True), [])

    def test_reals_within_tolerance_integers_exact(self):
        self.assertFalse(counters.values_differ(2.0, 2.0 * (1 + 1e-12), 1e-9))
        self.assertTrue(counters.values_differ(2.0, 2.0 * (1 + 1e-6), 1e-9))
        self.assertTrue(counters.values_differ(100, 101, 0.5))
        self.assertTrue(counters.values_differ(None, 0, 1e-9))
        self.assertFalse(counters.values_differ(None, None, 0))

    def test_extract_covers_every_counter_the_baseline_names(self):
        got = counters.extract(fixture("result_base.json"))
        for group, vals in self.baseline["counters"].items():
            self.assertEqual(sorted(set(vals) - set(got[group])), [], group)

    def test_only_the_counters_the_baseline_names_are_compared(self):
        cur = counters.extract(fixture("result_base.json"))
        cur["0:write"]["bytes.compaction_read_by_level.0"] = 12345    # added since
        self.assertEqual(counters.compare("shift-leveled", self.baseline["counters"], cur), [])
        del cur["0:write"]["compactions"]                               # gone since
        diffs = counters.compare("shift-leveled", self.baseline["counters"], cur)
        self.assertEqual([(d["group"], d["counter"], d["current"]) for d in diffs],
                         [("0:write", "compactions", "absent")])

    def test_missing_phase_is_a_difference(self):
        cur = copy.deepcopy(self.baseline["counters"])
        del cur["1:read"]
        diffs = counters.compare("x", self.baseline["counters"], cur)
        self.assertEqual([(d["group"], d["current"]) for d in diffs], [("1:read", "absent")])

    def test_every_run_has_a_committed_baseline(self):
        base_dir = os.path.join(SCRIPTS, "..", "results", "baselines")
        for name in counters.RUNS:
            doc = counters.load_baseline(counters.baseline_path(base_dir, name))
            self.assertEqual(doc["name"], name)
            self.assertEqual(doc["args"], counters.RUNS[name])


class Throughput(unittest.TestCase):
    def test_one_noisy_pair_median_near_one_passes(self):
        v = {x["phase"]: x for x in throughput.judge(throughput.load_series(
            os.path.join(FIX, "series_noisy.json")), 0.10)}
        self.assertLess(min(v["0:fillrandom"]["ratios"]), 0.6)  # the outlier is there
        self.assertAlmostEqual(v["0:fillrandom"]["median_ratio"], 0.99, delta=0.02)
        self.assertFalse(any(x["regressed"] for x in v.values()))
        self.assertEqual(report.throughput_lines(list(v.values()), 0.10), [])

    def test_median_ratio_point_eight_fails(self):
        verdicts = throughput.judge(throughput.load_series(
            os.path.join(FIX, "series_slow.json")), 0.10)
        v = {x["phase"]: x for x in verdicts}
        self.assertAlmostEqual(v["0:fillrandom"]["median_ratio"], 0.80, delta=0.01)
        self.assertTrue(v["0:fillrandom"]["regressed"])
        self.assertFalse(v["1:readrandom"]["regressed"])
        lines = report.throughput_lines(verdicts, 0.10)
        self.assertEqual(len(lines), 1)
        self.assertIn("0:fillrandom", lines[0])
        self.assertIn("-19.8%", lines[0])

    def test_threshold_moves_the_line(self):
        series = throughput.load_series(os.path.join(FIX, "series_slow.json"))
        self.assertFalse(any(v["regressed"] for v in throughput.judge(series, 0.25)))

    def test_bad_series_is_usage(self):
        for name in ("series_wrong_schema.json", "series_negative.json"):
            with self.assertRaises(common.Usage):
                throughput.load_series(os.path.join(FIX, "bad", name))
        with self.assertRaises(common.Usage):
            throughput.judge([], 0.1)


class CommandLine(unittest.TestCase):
    def test_series_regression_exits_1_and_names_phase(self):
        p = perf_check("-throughput-only", "-series", os.path.join(FIX, "series_slow.json"))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("throughput 0:fillrandom ops/s", p.stdout)
        self.assertNotIn("1:readrandom", p.stdout)

    def test_series_within_noise_exits_0(self):
        p = perf_check("-throughput-only", "-series", os.path.join(FIX, "series_noisy.json"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("perf-check: ok", p.stdout)

    def test_bad_input_exits_2(self):
        cases = [
            ("-throughput-only", "-series", os.path.join(FIX, "nope.json")),
            ("-throughput-only", "-series", os.path.join(FIX, "bad", "series_wrong_schema.json")),
            ("-throughput-only", "-series", os.path.join(FIX, "bad", "series_negative.json")),
            ("-counters-only", "-runs", "shift-leveled", "-baselines", os.path.join(FIX, "bad")),
            ("-counters-only", "-runs", "no-such-run"),
            ("-counters-only", "-runs", "shift-leveled", "-baselines", os.path.join(FIX, "baselines"),
             "-amethystd", "/nonexistent/amethystd"),
            ("-threshold", "1.5"),
            ("-pairs", "0"),
            ("-no-such-option",),
        ]
        for args in cases:
            p = perf_check(*args)
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertNotIn("Traceback", p.stderr)
            self.assertTrue(p.stderr.startswith("perf-check: "), p.stderr)

    def test_write_json_round_trip(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x", "b.json")
            common.write_json(path, {"schema": "s", "a": 1})
            self.assertEqual(common.load_json(path, "s"), {"schema": "s", "a": 1})
            with self.assertRaises(common.Usage):
                common.load_json(path, "other")


if __name__ == "__main__":
    unittest.main()
