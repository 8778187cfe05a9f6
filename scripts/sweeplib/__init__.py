"""sweeplib: the pieces of scripts/sweep, one module per concept.

grid      the grid (engines x workloads x keys x value sizes x seeds), its points, their
          file names and amethystd command lines;
results   whether a result file is a valid, finished run of a given point;
runner    running the points locally with bounded parallelism, resumable;
table     the combined CSV (one row per run and phase, plus a total row);
emit      the commands file (for GNU parallel) and the Slurm array job script.
"""
