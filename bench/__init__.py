"""The benchmark of sina-archive: ``python -m bench.run`` (see README, "Benchmark")."""
