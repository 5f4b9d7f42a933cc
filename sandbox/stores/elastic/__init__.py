"""The elastic store: its adapter and what the sandbox must know about it."""
