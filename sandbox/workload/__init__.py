"""What is written: the e-commerce order model and its seeded generator."""
