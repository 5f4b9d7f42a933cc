"""Errors the CLI turns into one line and an exit status (never a traceback)."""


class SandboxError(Exception):
    """Something went wrong inside the sandbox itself (exit status 1)."""

    exit_code = 1


class UsageError(SandboxError):
    """Bad input, configuration or environment: the message says what and how to fix it (exit 2)."""

    exit_code = 2


def first_line(exc: BaseException, limit: int) -> str:
    """An error for a one-line reason: its message's first line (at most `limit` characters), or its type's
    name when it has no message (a bare TimeoutError)."""
    text = str(exc)
    return text.splitlines()[0][:limit] if text else type(exc).__name__
