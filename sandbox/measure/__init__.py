"""Measuring: latency histograms, the timing wrapper, load drivers, consistency checks."""
