"""`sandbox evaluate`: requirements -> a plan of measurements -> scores per store -> a decision record.

plan.py says what to measure (the evidence sources), reuse.py finds earlier runs that measured the same,
score.py turns summary.json values into met / not met / not measured, decision_md.py writes the record.
Running the measurements is the CLI's (cli/evaluate.py): it alone may drive scenarios.
"""
