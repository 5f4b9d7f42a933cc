"""Scenarios: short declarative files in scenarios/ naming phases that reuse library steps."""
