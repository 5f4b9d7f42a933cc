"""Load workers past one process or machine: `sandbox worker` writes one share, `sandbox merge` adds them up."""
