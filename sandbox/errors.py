"""Errors the CLI turns into one line and an exit status (never a traceback)."""


class SandboxError(Exception):
    """Something went wrong inside the sandbox itself (exit status 1)."""

    exit_code = 1


class UsageError(SandboxError):
    """Bad input, configuration or environment: the message says what and how to fix it (exit 2)."""

    exit_code = 2
