"""What users see: live progress, side-by-side tables, results files."""
