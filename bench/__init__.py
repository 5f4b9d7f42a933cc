"""Benchmarks: the sandbox against each store's native tool, side by side in one run (`make bench`)."""
