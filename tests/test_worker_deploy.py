"""Offline checks of the load-worker deployments: compose/workers.yml and the Kubernetes Jobs in k8s/.

Neither Docker nor a cluster runs here, so the files are held to their schemas (compose-spec via
check-jsonschema, the Kubernetes API via kubernetes-validate) and to what `sandbox worker` reads.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from sandbox.config import Workspace
from sandbox.measure.workers.spec import WorkerSpec, load_spec
from sandbox.stores.registry import StoreRegistry
from tests.helpers import REQUIRED_VAR, check_jsonschema

ROOT = Path(__file__).resolve().parents[1]
WORKERS_YML = ROOT / "compose" / "workers.yml"
K8S = sorted((ROOT / "k8s").glob("*.yaml"))
INTERPOLATION = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*)|:\?[^}]*)?\}")


def load_all(path: Path) -> list[dict]:
    return [doc for doc in YAML(typ="safe").load_all(path.read_text()) if doc]


def kubernetes_validate(path: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("kubernetes-validate", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail(f"kubernetes-validate is missing next to {sys.executable}: run `pip install -e .[dev]`")
    return subprocess.run([exe, "--strict", "--quiet", str(path)], capture_output=True, text=True, timeout=120)


def k8s_kind(kind: str, name: str) -> dict:
    [doc] = [d for path in K8S for d in load_all(path) if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def test_workers_compose_file_matches_compose_spec() -> None:
    result = check_jsonschema(WORKERS_YML)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", K8S, ids=lambda p: p.name)
def test_kubernetes_manifests_match_the_api_schema(path: Path) -> None:
    result = kubernetes_validate(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validators_reject_broken_files(tmp_path: Path) -> None:
    compose = YAML(typ="safe").load(WORKERS_YML.read_text())
    compose["services"]["worker"]["depends_on"] = 5
    job = k8s_kind("Job", "sandbox-workers")
    job["spec"]["completionMode"] = {"indexed": True}
    for name, doc in (("workers.yml", compose), ("job.yaml", job)):
        with (tmp_path / name).open("w") as fh:
            YAML(typ="safe").dump(doc, fh)
    assert check_jsonschema(tmp_path / "workers.yml").returncode != 0
    assert kubernetes_validate(tmp_path / "job.yaml").returncode != 0


def compose_worker_env() -> dict[str, str]:
    """The environment a compose worker gets, with ${VAR:-default} resolved and ${VAR:?} filled in."""
    env = YAML(typ="safe").load(WORKERS_YML.read_text())["services"]["worker"]["environment"]
    sample = {"WORKERS": "4", "SANDBOX_WORKER_NAMESPACE": "sbx_compose1"}

    def fill(m: re.Match[str]) -> str:
        return sample.get(m.group(1), m.group(2) if m.group(2) is not None else "secret")

    return {key: INTERPOLATION.sub(fill, str(value)) for key, value in env.items()}


def test_compose_workers_get_a_valid_spec_and_store_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    env = compose_worker_env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    spec = load_spec(None, env)
    assert (spec.workers, spec.index, spec.stores, spec.start_at) == (4, "auto", ["postgres", "redis"], None)
    assert str(spec.out) == "/results/sbx_compose1"
    settings = StoreRegistry.built_in().settings("native", Workspace.from_env({}), environ=env)
    assert settings.postgres_url and "@postgres:5432/" in settings.postgres_url
    assert settings.redis_url and "@redis:6379/" in settings.redis_url
    worker_keys = {k.removeprefix("SANDBOX_WORKER_").lower() for k in env if k.startswith("SANDBOX_WORKER_")}
    assert worker_keys <= set(WorkerSpec.model_fields)


def test_compose_worker_policy() -> None:
    doc = YAML(typ="safe").load(WORKERS_YML.read_text())
    for name, svc in doc["services"].items():
        assert not svc.get("ports"), f"{name}: workers publish no ports"
        assert svc.get("mem_limit"), f"{name}: no memory limit"
        for key, value in svc["environment"].items():
            secret = re.search(r"PASSWORD|TOKEN", str(value)) or key.endswith("_TOKEN")
            if secret:
                refs = re.findall(r"\$\{[^}]*\}", str(value))
                assert refs and all(REQUIRED_VAR.match(r) for r in refs if re.search("PASSWORD|TOKEN", r)), \
                    f"{name}: {key} must take its secret from a ${{VAR:?message}} interpolation"
    assert doc["services"]["worker"]["depends_on"]["prepare"]["condition"] == "service_completed_successfully"


def test_indexed_job_gives_each_pod_its_worker_index() -> None:
    run = k8s_kind("ConfigMap", "sandbox-run")["data"]
    job = k8s_kind("Job", "sandbox-workers")["spec"]
    workers = int(run["SANDBOX_WORKER_WORKERS"])
    assert job["completionMode"] == "Indexed" and job["completions"] == job["parallelism"] == workers
    assert job["backoffLimit"] == 0, "a retried worker would write its share twice"
    [container] = job["template"]["spec"]["containers"]
    index = {e["name"]: e for e in container["env"]}["SANDBOX_WORKER_INDEX"]
    completion_index = "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    assert index["valueFrom"]["fieldRef"]["fieldPath"] == completion_index
    assert {"secretRef": {"name": "sandbox-stores"}} in container["envFrom"]
    assert set(run) <= {f"SANDBOX_WORKER_{f.upper()}" for f in WorkerSpec.model_fields}
    merge = k8s_kind("Job", "sandbox-merge")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert merge[:2] == ["merge", run["SANDBOX_WORKER_OUT"]]
    assert run["SANDBOX_WORKER_OUT"].endswith(run["SANDBOX_WORKER_NAMESPACE"])


def test_no_store_url_or_secret_in_the_manifests() -> None:
    for path in [*K8S, WORKERS_YML]:
        text = path.read_text()
        # user:password@ in a URL, unless the password is a placeholder (...) or a ${VAR} interpolation
        assert not re.search(r"://[^:/@\s]*:(?!\.\.\.@|\$\{)[^@\s/]+@", text), f"{path.name}: a password in a URL"
