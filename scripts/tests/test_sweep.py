"""Tests of scripts/sweep: the local path on a tiny grid with the real amethystd (skipped
when build/rel/amethystd is not built), resumability, the CSV, the emitted commands file and
Slurm script, failures, and bad input (exit 2). Run from the repository root:
    /usr/bin/python3 -m unittest scripts/tests/test_sweep.py
(`make test` runs every scripts/tests/test_*.py with AMETHYSTD set to the build's binary.)
"""
import csv
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SWEEP = os.path.join(ROOT, "scripts", "sweep")
AMETHYSTD = os.path.abspath(os.environ.get("AMETHYSTD",
                                           os.path.join(ROOT, "build", "rel", "amethystd")))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from sweeplib import table  # noqa: E402

GRID = ["-engines", "leveled,leveldb", "-workloads", "ycsb-c", "-keys", "2000",
        "-value-sizes", "100", "-seeds", "1,2"]
NAMES = sorted("%s_ycsb-c_k2000_v100_s%d.json" % (e, s)
               for e in ("leveled", "leveldb") for s in (1, 2))


def sweep(*args, amethystd=AMETHYSTD):
    p = subprocess.run(["/usr/bin/python3", SWEEP, "-amethystd", amethystd] + list(args),
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    return p.returncode, p.stderr


def read_csv(outdir):
    with open(os.path.join(outdir, "sweep.csv"), newline="") as f:
        return list(csv.DictReader(f))


def mtimes(outdir):
    runs = os.path.join(outdir, "runs")
    return {n: os.stat(os.path.join(runs, n)).st_mtime_ns for n in sorted(os.listdir(runs))}


class Tmp(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sweep-test-")
        self.out = os.path.join(self.tmp, "sw")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


@unittest.skipUnless(os.access(AMETHYSTD, os.X_OK),
                     "build/rel/amethystd is not built (make build/rel/amethystd)")
class TestLocal(Tmp):
    def test_run_resume_csv(self):
        rc, err = sweep(*GRID, "-out", self.out, "-jobs", "2")
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(os.listdir(os.path.join(self.out, "runs"))), NAMES)
        before = mtimes(self.out)

        # A second run skips everything.
        rc, err = sweep(*GRID, "-out", self.out)
        self.assertEqual(rc, 0, err)
        self.assertIn("0 run, 4 skipped", err)
        self.assertEqual(mtimes(self.out), before)

        # Deleting one result, and spoiling another, reruns just those two.
        runs = os.path.join(self.out, "runs")
        os.remove(os.path.join(runs, NAMES[0]))
        with open(os.path.join(runs, NAMES[1]), "w") as f:
            f.write('{"schema": "amethyst-result/1", "phases": [')   # a partial file
        rc, err = sweep(*GRID, "-out", self.out)
        self.assertEqual(rc, 0, err)
        self.assertIn("2 run, 2 skipped", err)
        after = mtimes(self.out)
        self.assertEqual(sorted(after), NAMES)
        for n in NAMES[2:]:
            self.assertEqual(after[n], before[n])

        # The CSV: per run its two phases (load, run) and a total row.
        rows = read_csv(self.out)
        self.assertEqual(list(rows[0].keys()), table.COLUMNS)
        self.assertEqual(len(rows), 4 * 3)
        self.assertEqual({r["engine"] for r in rows}, {"leveled", "leveldb"})
        self.assertEqual({r["seed"] for r in rows}, {"1", "2"})
        self.assertEqual([r["phase"] for r in rows[:3]], ["load", "run", "total"])
        for r in rows:
            self.assertEqual((r["workload"], r["keys"], r["value_size"], r["status"]),
                             ("ycsb-c", "2000", "100", "ok"))
            self.assertGreater(float(r["ops_per_sec"]), 0)
            self.assertGreater(int(r["p99_ns"]), 0)
            self.assertLessEqual(int(r["p50_ns"]), int(r["p99_ns"]))
            self.assertTrue(r["revision"])
        for r in rows:
            with open(r["result"]) as f:
                doc = json.load(f)
            if r["phase"] == "total":
                self.assertEqual(int(r["ops"]), doc["totals"]["ops"])
                self.assertEqual(float(r["seconds"]), doc["totals"]["seconds"])
            else:
                ph = doc["phases"][int(r["phase_index"])]
                self.assertEqual(r["phase"], ph["name"])
                self.assertEqual(int(r["ops"]), ph["ops"])
                if len(ph["latency"]) == 1:   # one op type: its own percentiles
                    lat = next(iter(ph["latency"].values()))
                    self.assertEqual((int(r["p50_ns"]), int(r["p99_ns"])),
                                     (lat["p50"], lat["p99"]))
        with open(os.path.join(self.out, "sweep.json")) as f:
            grid = json.load(f)
        self.assertEqual(grid["grid"]["engines"], ["leveled", "leveldb"])
        self.assertEqual(grid["points"], 4)
        self.assertEqual(grid["schema"], "amethyst-sweep/1")
        # Resuming with other -args is refused: one CSV, one set of settings.
        rc, err = sweep(*GRID, "-out", self.out, "-args", "-memtable-mb 1")
        self.assertEqual(rc, 2, err)
        self.assertIn("use another -out", err)

    def test_emit_commands_and_slurm(self):
        cmds = os.path.join(self.tmp, "cmds.txt")
        slurm = os.path.join(self.tmp, "sweep.sbatch")
        rc, err = sweep(*GRID, "-out", self.out, "-emit-commands", cmds, "-emit-slurm", slurm)
        self.assertEqual(rc, 0, err)
        self.assertEqual(os.listdir(os.path.join(self.out, "runs")), [])   # nothing ran
        with open(cmds) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 4)
        outs = []
        for line in lines:
            argv = shlex.split(line)
            self.assertEqual(argv[0], AMETHYSTD)
            opt = dict(zip(argv[1::2], argv[2::2]))
            self.assertEqual((opt["-workload"], opt["-keys"], opt["-value-size"]),
                             ("ycsb-c", "2000", "100"))
            outs.append(os.path.basename(opt["-out"]))
            self.assertTrue(os.path.isabs(opt["-out"]))
        self.assertEqual(sorted(outs), NAMES)
        with open(slurm) as f:
            script = f.read()
        self.assertTrue(script.startswith("#!/bin/bash\n"))
        self.assertIn("#SBATCH --array=1-4\n", script)
        self.assertIn(cmds, script)
        self.assertIn("SLURM_ARRAY_TASK_ID", script)
        self.assertEqual(subprocess.run(["bash", "-n", slurm]).returncode, 0)
        # Task 3 of the array runs line 3; then -only-missing leaves it out.
        env = dict(os.environ, SLURM_ARRAY_TASK_ID="3")
        p = subprocess.run(["bash", slurm], env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(os.listdir(os.path.join(self.out, "runs")), [outs[2]])
        rc, err = sweep(*GRID, "-out", self.out, "-emit-commands", cmds, "-only-missing")
        self.assertEqual(rc, 0, err)
        with open(cmds) as f:
            self.assertEqual(f.read().splitlines(), lines[:2] + lines[3:])
        # -collect: the CSV of what is there; exit 1 since points are missing.
        rc, err = sweep(*GRID, "-out", self.out, "-collect")
        self.assertEqual(rc, 1, err)
        self.assertEqual({r["run"] + ".json" for r in read_csv(self.out)}, {outs[2]})

    @unittest.skipUnless(shutil.which("parallel"), "GNU parallel is not installed")
    def test_gnu_parallel(self):
        cmds = os.path.join(self.tmp, "cmds.txt")
        rc, err = sweep(*GRID, "-out", self.out, "-emit-commands", cmds)
        self.assertEqual(rc, 0, err)
        with open(cmds) as f:
            p = subprocess.run(["parallel", "--will-cite", "--jobs", "2", "--joblog",
                                os.path.join(self.tmp, "joblog")], stdin=f,
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        rc, err = sweep(*GRID, "-out", self.out, "-collect")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(read_csv(self.out)), 12)

    def test_amethystd_bad_usage_stops(self):
        rc, err = sweep(*GRID, "-out", self.out, "-args", "-threads 0")
        self.assertEqual(rc, 2)
        self.assertIn("-threads 0", err)
        self.assertIn("1 failed, 3 not run", err)

    def test_failure_recorded_and_sweep_goes_on(self):
        # A stand-in amethystd: the real one, except that seed 2 fails with exit 1.
        fake = os.path.join(self.tmp, "amethystd")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\ncase " $* " in *" -seed 2 "*) echo "engine broke" >&2; '
                    'exit 1;; esac\nexec %s "$@"\n' % shlex.quote(AMETHYSTD))
        os.chmod(fake, 0o755)
        rc, err = sweep(*GRID, "-out", self.out, amethystd=fake)
        self.assertEqual(rc, 1, err)
        self.assertIn("2 run, 0 skipped, 2 failed", err.replace(" (already done)", ""))
        rows = read_csv(self.out)
        failed = [r for r in rows if r["status"] == "failed"]
        self.assertEqual(len(failed), 2)
        self.assertEqual({r["seed"] for r in failed}, {"2"})
        self.assertEqual({r["error"] for r in failed}, {"engine broke"})
        self.assertTrue(os.path.exists(failed[0]["result"]))   # the stderr log
        self.assertEqual(len(rows), 2 * 3 + 2)


@unittest.skipUnless(os.access(AMETHYSTD, os.X_OK),
                     "build/rel/amethystd is not built (make build/rel/amethystd)")
class TestBadInput(Tmp):
    def check(self, args, message):
        rc, err = sweep(*args, "-out", self.out)
        self.assertEqual(rc, 2, err)
        self.assertIn(message, err)
        self.assertNotIn("Traceback", err)

    def test_bad_input(self):
        self.check(["-engines", "bogus"], "unknown engine 'bogus'")
        self.check(["-engines", ""], "-engines: empty")
        self.check(["-engines", "leveled", "-seeds", ""], "-seeds: empty")
        self.check(["-engines", "leveled", "-keys", "1,x"], "not an integer")
        self.check(["-engines", "leveled", "-keys", "0"], "below 1")
        self.check(["-engines", "leveled", "-workloads", "nosuch"], "unknown workload")
        self.check(["-engines", "leveled", "-args", "-seed 3"], "-seed is set by the sweep")
        self.check(["-engines", "leveled,amethyst-leveled"], "listed twice")
        self.check(["-engines", "leveled", "-jobs", "0"], "-jobs must be >= 1")
        self.assertFalse(os.path.exists(os.path.join(self.out, "runs")))

    def test_missing_amethystd(self):
        rc, err = sweep("-engines", "leveled", "-out", self.out,
                        amethystd=os.path.join(self.tmp, "none"))
        self.assertEqual(rc, 2)
        self.assertIn("not an executable", err)


class TestPercentile(unittest.TestCase):
    def test_merged_buckets(self):
        a = {"buckets": [[100, 101, 3], [200, 202, 1]], "max": 201}
        b = {"buckets": [[100, 101, 1], [400, 404, 5]], "max": 403}
        buckets, top = table.merge_latency([a, b])
        self.assertEqual(buckets[(100, 101)], 4)
        self.assertEqual(top, 403)
        self.assertEqual(table.percentile(buckets, top, 50.0), 202)  # rank 5 of 10
        self.assertEqual(table.percentile(buckets, top, 40.0), 101)  # rank 4
        self.assertEqual(table.percentile(buckets, top, 99.0), 403)  # capped at max
        self.assertIsNone(table.percentile({}, None, 50.0))


if __name__ == "__main__":
    unittest.main()
