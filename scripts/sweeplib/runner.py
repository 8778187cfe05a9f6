"""Running the grid locally: bounded parallelism, resumable.

A point whose result file is already a valid, finished run is skipped. Otherwise amethystd
runs it; exit 0 with a valid result is "ok"; exit 2 (bad usage: nothing ran) stops the sweep
(no new runs start; the running ones finish) with amethystd's message; any other failure is
recorded ("failed": exit status, last line of stderr), the document it left (if any) and its
stderr are moved to DIR/failed/, and the sweep goes on. Exit 130 (interrupted) stops it.
"""
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from . import results


class Sweep:
    """The state shared by the worker threads."""

    def __init__(self, amethystd, outdir, extra, jobs, log=sys.stderr):
        self.amethystd, self.outdir, self.extra, self.jobs = amethystd, outdir, extra, jobs
        self.log = log
        self.stop = threading.Event()
        self.stop_reason = None     # (exit status, message) when a run stopped the sweep
        self.lock = threading.Lock()
        self.done = 0

    def say(self, text):
        with self.lock:
            print("sweep: " + text, file=self.log, flush=True)


def run_point(sweep, point, total):
    """Runs one point (or skips it); returns its record."""
    path = point.result_path(sweep.outdir)
    cmd = point.command(sweep.amethystd, sweep.outdir, sweep.extra)
    rec = dict(point.as_dict(), result=path, command=" ".join(shlex.quote(c) for c in cmd),
               status=None, exit_status=None, error=None, seconds=None)
    if results.valid(path, point) is not None:
        rec["status"] = "skipped"
        return rec
    if sweep.stop.is_set():
        rec["status"] = "not run"
        return rec
    t = time.monotonic()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    rec["seconds"] = round(time.monotonic() - t, 3)
    rec["exit_status"] = p.returncode
    with sweep.lock:
        sweep.done += 1
        n = sweep.done
    if p.returncode == 0 and results.valid(path, point) is not None:
        rec["status"] = "ok"
        sweep.say("[%d/%d] %s ok (%.1f s)" % (n, total, point.name, rec["seconds"]))
        return rec
    lines = p.stderr.strip().splitlines()
    rec["error"] = lines[-1] if lines else "exit %d" % p.returncode
    if p.returncode == 0:
        rec["error"] = "exit 0 but %s: %s" % (
            path, results.problem(results.load(path), point))
    rec["status"] = "failed"
    if p.returncode in (2, 130) or -p.returncode in (signal.SIGINT, signal.SIGTERM):
        with sweep.lock:
            if sweep.stop_reason is None:
                sweep.stop_reason = (p.returncode, rec["error"])
        sweep.stop.set()
    rec["log"] = keep_failure(sweep.outdir, point, path, p.stderr)
    sweep.say("[%d/%d] %s FAILED (exit %d): %s" % (n, total, point.name, p.returncode,
                                                   rec["error"]))
    return rec


def keep_failure(outdir, point, path, stderr):
    """Moves a failed run's document (if any) out of runs/ and saves its stderr; returns
    the stderr file's path."""
    fdir = os.path.join(outdir, "failed")
    os.makedirs(fdir, exist_ok=True)
    if os.path.exists(path):
        os.replace(path, os.path.join(fdir, point.name + ".json"))
    log = os.path.join(fdir, point.name + ".log")
    with open(log, "w") as f:
        f.write(stderr)
    return log


def run_all(sweep, grid_points):
    """Runs every point with at most sweep.jobs at once; returns the records in grid
    order. KeyboardInterrupt stops new runs and is raised again once the running ones end
    (they got the SIGINT too)."""
    os.makedirs(os.path.join(sweep.outdir, "runs"), exist_ok=True)
    total = len(grid_points)
    with ThreadPoolExecutor(max_workers=sweep.jobs) as pool:
        futures = [pool.submit(run_point, sweep, p, total) for p in grid_points]
        try:
            return [f.result() for f in futures]
        except KeyboardInterrupt:
            sweep.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
