"""Load workers past one process or machine: `sandbox worker` writes one share, `sandbox merge` adds them up.

Measure layer: a worker is a write phase (stores, the timing wrapper, the driver) run from a spec instead of
a scenario."""
