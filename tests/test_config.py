"""Configuration: defaults per backend, validation messages that name the key, masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.config import Settings, Workspace, ensure_env_file, mask
from sandbox.errors import UsageError
from sandbox.stores.registry import StoreRegistry

KINDS = StoreRegistry.built_in()


def load_settings(backend: str, ws: Workspace, config_file: Path | None = None) -> Settings:
    return KINDS.settings(backend, ws, config_file)  # type: ignore[arg-type]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ensure_env_file(tmp_path / "compose" / ".env", KINDS.kinds.values())
    return Workspace(tmp_path, tmp_path / ".sandbox", tmp_path / "results")


def test_env_file_is_generated_private_and_stable(ws: Workspace) -> None:
    first = ensure_env_file(ws.env_file, KINDS.kinds.values())
    assert ws.env_file.stat().st_mode & 0o777 == 0o600
    assert len(first["POSTGRES_PASSWORD"]) >= 20
    assert ensure_env_file(ws.env_file, KINDS.kinds.values()) == first


def test_defaults_follow_backend_and_port_offset(ws: Workspace) -> None:
    native = load_settings("native", ws)
    assert native.mongo_url == "mongodb://127.0.0.1:27117/?directConnection=true"
    shifted = load_settings("native", Workspace(ws.project_dir, ws.state_dir, ws.results_dir, port_offset=100))
    assert shifted.redis_url is not None and shifted.redis_url.endswith("@127.0.0.1:16479/0")
    docker = load_settings("docker", ws)
    assert docker.mongo_url is not None and "authSource=admin" in docker.mongo_url
    assert docker.influx_token


def test_env_vars_beat_defaults_and_file_beats_env(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_REDIS_URL", "redis://elsewhere:6379/2")
    assert load_settings("native", ws).redis_url == "redis://elsewhere:6379/2"
    cfg = ws.project_dir / "sandbox.toml"
    cfg.write_text('redis_url = "redis://fromfile:6379/3"\n')
    assert load_settings("native", ws, cfg).redis_url == "redis://fromfile:6379/3"


def test_a_bad_url_names_the_key_and_what_is_expected(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_POSTGRES_URL", "mysql://u:secret@h/db")
    with pytest.raises(UsageError) as err:
        load_settings("native", ws)
    message = str(err.value)
    assert message.startswith("SANDBOX_POSTGRES_URL:") and "postgresql://" in message
    assert "secret" not in message


def test_bad_config_file_is_named(ws: Workspace) -> None:
    cfg = ws.project_dir / "bad.toml"
    cfg.write_text('influx_url = "ftp://x"\n')
    with pytest.raises(UsageError, match=r"bad.toml: influx_url: expected a http:// or https:// URL"):
        load_settings("native", ws, cfg)
    with pytest.raises(UsageError, match="does not exist"):
        load_settings("native", ws, ws.project_dir / "missing.toml")


def test_port_offset_is_validated() -> None:
    with pytest.raises(UsageError, match="SANDBOX_PORT_OFFSET"):
        Workspace.from_env({"SANDBOX_PORT_OFFSET": "-5"})


def test_mask_hides_passwords_only() -> None:
    assert mask("postgresql://sandbox:hunter2@127.0.0.1:15432/db") == "postgresql://sandbox:***@127.0.0.1:15432/db"
    assert mask("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert mask("http://127.0.0.1:9200") == "http://127.0.0.1:9200"


def test_store_names_are_checked() -> None:
    assert KINDS.parse("redis, postgres,redis") == ["redis", "postgres"]
    with pytest.raises(UsageError, match="unknown store cassandra"):
        KINDS.parse("postgres,cassandra")


def test_every_declared_port_stays_a_port_number_at_the_largest_offset() -> None:
    """config.MAX_PORT_OFFSET knows no store: the kinds declare their ports (replicas' included), and this holds
    them to it."""
    from sandbox.config import MAX_PORT_OFFSET
    from sandbox.stack.native import nodes_of
    from sandbox.stores.registry import StoreRegistry

    highest = max(node.port for node in nodes_of(StoreRegistry.built_in()).values())
    assert highest + MAX_PORT_OFFSET <= 65535, (highest, MAX_PORT_OFFSET)
