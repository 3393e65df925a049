"""Side-by-side benchmarks of UltraOpt's optimizers and their peers (run as ``python -m benchmarks.quality``)."""
