"""The deployment files: Kubernetes manifests validated against the Kubernetes schemas
offline (kubernetes-validate), the compose file's wiring, the training image's lint, and
the CronJob's drop fetch run against a real S3 endpoint."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support.s3 import S3Server

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = "1.37.0"


def manifests() -> list[dict[str, Any]]:
    return [m for m in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()) if m]


def by_kind(kind: str) -> dict[str, Any]:
    [found] = [m for m in manifests() if m["kind"] == kind]
    return found


@pytest.mark.parametrize("index", range(len(manifests())))
def test_each_manifest_is_valid_for_kubernetes(index: int) -> None:
    manifest = manifests()[index]
    kubernetes_validate.validate(manifest, KUBERNETES, strict=True)


def test_a_broken_manifest_is_caught() -> None:
    broken = by_kind("Deployment")
    broken["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": "http"}]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


def test_serving_reads_s3_with_a_secret_and_no_shared_volume() -> None:
    config = by_kind("ConfigMap")["data"]
    assert config["FERRY_REGISTRY"].startswith("s3://")
    pod = by_kind("Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    sources = {next(iter(s)): next(iter(s.values()))["name"] for s in container["envFrom"]}
    assert sources == {
        "configMapRef": "ferry-registry",
        "secretRef": by_kind("Secret")["metadata"]["name"],
    }
    assert all("persistentVolumeClaim" not in v for v in pod["volumes"])
    assert [v["name"] for v in pod["volumes"]] == ["cache"] and "emptyDir" in pod["volumes"][0]


def test_retraining_is_a_cron_job_on_the_same_registry() -> None:
    cron = by_kind("CronJob")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["args"][:4] == ["retrain", "tabular", "--data", "/drops"]
    assert {"configMapRef": {"name": "ferry-registry"}} in container["envFrom"]
    assert all("persistentVolumeClaim" not in v for v in pod["volumes"])


def test_the_cron_jobs_drop_fetch_works_against_s3(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The init container's Python, run here with /drops/ pointing at a temporary folder."""
    import boto3

    client = boto3.client("s3", endpoint_url=s3_server.endpoint)
    client.create_bucket(Bucket="ferry-drops")
    for name in ("drop-1.csv", "drop-2.csv"):
        client.put_object(Bucket="ferry-drops", Key=f"tabular/{name}", Body=b"a,target\n1,x\n")
    [init] = by_kind("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["initContainers"]
    assert init["command"][:2] == ["python", "-c"]
    for variable in init["env"]:
        monkeypatch.setenv(variable["name"], variable["value"])
    exec(init["command"][2].replace('"/drops/"', repr(f"{tmp_path}/drops/")), {})
    assert sorted(p.name for p in (tmp_path / "drops").iterdir()) == ["drop-1.csv", "drop-2.csv"]


def test_compose_runs_ferry_beside_an_s3_store() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert services["minio"]["image"].startswith("quay.io/minio/minio")
    ferry = services["ferry"]["environment"]
    assert ferry["FERRY_REGISTRY"].startswith("s3://") and ferry["AWS_ENDPOINT_URL"] == (
        "http://minio:9000"
    )
    assert "volumes" not in services["ferry"]
    bucket = services["buckets"]["entrypoint"][-1]
    assert ferry["FERRY_REGISTRY"].split("/")[2] in bucket
    assert services["train"]["environment"]["FERRY_REGISTRY"] == ferry["FERRY_REGISTRY"]


def test_the_training_image_lints() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    result = subprocess.run(
        [hadolint, str(DEPLOY / "train.Dockerfile")], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
