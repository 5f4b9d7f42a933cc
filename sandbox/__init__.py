"""Polyglot persistence sandbox: one order workload, five stores, compared side by side."""

__version__ = "0.1.0"
