"""The `sandbox` command's shared parts: the typer app, the common options, and the entry point.

Every failure the user can fix ends as one line on stderr and exit status 2 (see sandbox.errors);
a consistency finding in a run ends with exit status 3. The commands live beside this module, one
module per concern (stack, run, results, workers, maintenance).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from sandbox.config import OPTIONS_KEY, Settings, Workspace, read_config_file
from sandbox.errors import SandboxError
from sandbox.experiments.registry import Experiments
from sandbox.stack import resolve_backend
from sandbox.stores.registry import StoreRegistry

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Polyglot persistence sandbox: one order workload, five stores, compared side by side.")

BackendOpt = Annotated[str, typer.Option("--backend", help="auto | docker | native")]
StoresOpt = Annotated[str | None, typer.Option("--stores", help="comma-separated store names (default: all; "
                                                               "`sandbox status` lists them)")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML file with store URLs (beats SANDBOX_*)")]
InsecureOpt = Annotated[bool, typer.Option("--insecure", help="TLS without checking the servers' certificates or "
                                           "host names (a warning in the output and the results)")]
OptionOpt = Annotated[list[str] | None, typer.Option(
    "--option", "-o", help="a store's own option, STORE.OPTION=VALUE, e.g. -o redis.client=valkey-glide "
    "(`sandbox options` lists them)")]


def workspace() -> Workspace:
    return Workspace.from_env(dict(os.environ))


def store_registry(config: Path | None = None) -> StoreRegistry:
    """The built-in store kinds plus plugins (SANDBOX_STORE_PLUGINS, the config file's store_plugins)."""
    return StoreRegistry.load(os.environ, config)


def experiment_registry(config: Path | None = None) -> Experiments:
    """The built-in experiments plus plugins (SANDBOX_EXPERIMENT_PLUGINS, the config file's experiment_plugins)."""
    return Experiments.load(os.environ, config)


def config_options(config: Path | None) -> dict[str, object]:
    """The config file's store options ({"redis.client" = "valkey-glide"} or [options] redis.client = ...)."""
    from sandbox.stores.options import flatten

    given = read_config_file(config).get(OPTIONS_KEY, {})
    return flatten(given, f"{config}: {OPTIONS_KEY}") if isinstance(given, dict) else {}


def resolved_settings(backend: str, config: Path | None, insecure: bool = False) -> tuple[StoreRegistry, Settings]:
    """The store kinds and every store's settings for the chosen backend (auto: what is up, else docker/native)."""
    ws = workspace()
    registry = store_registry(config)
    settings = registry.settings(resolve_backend(backend, ws.state_dir), ws, config, insecure=insecure)
    warn_insecure(settings)
    return registry, settings


def warn_insecure(settings: Settings) -> None:
    """--insecure said out loud, on stderr: nothing checks whom the connections reach."""
    if settings.insecure:
        print("warning: --insecure: TLS certificates and host names are NOT verified; a server impersonating a store "
              "would not be noticed", file=sys.stderr)


def main() -> None:
    """Entry point: one line and a status code for every error the user can act on."""
    # While a store is down on purpose, asyncpg's pool logs a traceback per reconnect attempt; the
    # operations' outcomes are counted and reported already.
    logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)
    try:
        status = app(standalone_mode=False)  # typer.Exit(n) comes back as n in this mode
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.TyperException as exc:  # the command line itself is wrong (bad option, bad value)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(message, file=sys.stderr)
        else:
            print(f"error: {message.splitlines()[0] if message else type(exc).__name__} (see --help)", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        if os.environ.get("SANDBOX_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {str(exc)[:300]} (SANDBOX_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        sys.exit(1)
    sys.exit(status if isinstance(status, int) else 0)
