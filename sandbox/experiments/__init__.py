"""Experiments: one folder each (its steps, its typed result, its terminal tables, its report section), listed
once in registry.py. The CLI passes the registered set down; report/ and scenario/ never import this package."""
