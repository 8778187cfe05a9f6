"""perfcheck: the modules behind scripts/perf-check (regression check for CI).

common      errors, JSON loading with schema checks, running amethystd
counters    deterministic counters: the fixed runs, extraction, comparison with baselines
throughput  the base build in a temporary git worktree, interleaved A/B runs, median ratios
report      the short text report
"""
