"""The grid for an existing scheduler: a commands file and a Slurm array job script.

The commands file has one amethystd command line per grid point (shell-quoted, absolute
paths), in grid order: `parallel --joblog J --resume < FILE` runs it, locally or with
`--sshlogin` over hosts. The Slurm script is an array job with one index per line of the
commands file; task i runs line i.
"""
import os
import shlex


def command_line(point, amethystd, outdir, extra):
    return " ".join(shlex.quote(c) for c in point.command(amethystd, outdir, extra))


def write_commands(path, grid_points, amethystd, outdir, extra):
    with open(path, "w") as f:
        for p in grid_points:
            f.write(command_line(p, amethystd, outdir, extra) + "\n")


SLURM = """#!/bin/bash
# Amethyst sweep as a Slurm array job, written by scripts/sweep: one array task per line
# of the commands file ({n} grid points). Submit with: sbatch {script}
# amethystd ({amethystd})
# and {outdir} must exist at these paths on every node (a shared file system).
# Afterwards, `scripts/sweep ... -out {outdir} -collect` writes the CSV.
# Add `#SBATCH --exclusive` for timings undisturbed by other jobs on the node, and `%N`
# after the range (--array=1-{n}%4) to cap how many tasks run at once.
#SBATCH --job-name=amethyst-sweep
#SBATCH --array=1-{n}
#SBATCH --cpus-per-task=2
#SBATCH --output={logs}/%A_%a.out
set -eu
cmd=$(sed -n "${{SLURM_ARRAY_TASK_ID}}p" {commands})
[ -n "$cmd" ] || {{ echo "no line $SLURM_ARRAY_TASK_ID in {commands}" >&2; exit 2; }}
echo "$cmd"
eval "exec $cmd"
"""


def write_slurm(path, commands, n, amethystd, outdir):
    logs = os.path.join(outdir, "slurm")
    os.makedirs(logs, exist_ok=True)
    q = shlex.quote
    with open(path, "w") as f:
        f.write(SLURM.format(n=n, script=q(path), amethystd=amethystd, outdir=outdir,
                             logs=logs, commands=q(commands)))
    os.chmod(path, 0o755)
