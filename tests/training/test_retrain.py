"""The retraining job on a real registry: real training, real ONNX, real decisions.

One champion is trained per session and copied into each test's registry. Drops are
simulated from the bundled data: a good one, a bad one (3,000 rows with shuffled
labels) and a trusted "golden" set the bad one is judged on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from export.errors import Locked
from export.registry import Registry
from training.data import load_breast_cancer
from training.errors import DataError, RetrainError
from training.loop import TrainConfig
from training.retrain import Decision, retrain
from training.retrain.decision import JOURNAL, commit, judge, recover
from training.retrain.drops import fingerprint, read_drops
from training.retrain.faults import CRASH_ENV, KILLED, InjectedCrash
from training.retrain.schedule import parse_duration, run_every
from training.retrain.simulate import simulate, to_frame

ROOT = Path(__file__).resolve().parents[2]
# one torch thread: on a busy 2-core machine two threads make these small models 5x slower
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def ferry_retrain(registry: Registry, data: Path) -> list[str]:
    """`ferry retrain tabular` as a separate process."""
    cmd = [sys.executable, "-m", "ferry", "retrain", "tabular", "--data", str(data)]
    return [*cmd, "--registry", registry.url]


def write_drop(path: Path, rows: int, seed: int, shuffle: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    to_frame(simulate(load_breast_cancer(), rows, seed, shuffle), "target").to_csv(
        path, index=False
    )
    return path


@pytest.fixture(scope="session")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("drops")
    write_drop(root / "good" / "drop-1.csv", 300, seed=1)
    write_drop(root / "bad" / "drop-1.csv", 3000, seed=2, shuffle=True)
    write_drop(root / "golden.csv", 300, seed=7)
    return {"good": root / "good", "bad": root / "bad", "golden": root / "golden.csv"}


@pytest.fixture(scope="session")
def champion_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry holding `tabular:1`, trained for 5 epochs on breast cancer, in production."""
    from training.pipeline import train_and_publish

    root = tmp_path_factory.mktemp("champion") / "registry"
    train_and_publish("tabular", Registry(root), train_config=TrainConfig(epochs=5), progress=False)
    return root


@pytest.fixture
def registry(champion_root: Path, tmp_path: Path) -> Registry:
    shutil.copytree(champion_root, tmp_path / "registry")
    return Registry(tmp_path / "registry")


# --- decisions -----------------------------------------------------------------


@pytest.fixture(scope="module")
def decided(
    champion_root: Path, data: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Registry, Decision, Decision]:
    """A good drop, then a bad drop judged on the golden set, on one registry."""
    root = tmp_path_factory.mktemp("decided") / "registry"
    shutil.copytree(champion_root, root)
    registry = Registry(root)
    good = retrain("tabular", registry, data["good"])
    bad = retrain("tabular", registry, data["bad"], holdout=data["golden"])
    return registry, good, bad


@pytest.mark.slow
def test_a_better_challenger_is_promoted(decided: tuple[Registry, Decision, Decision]) -> None:
    registry, good, _ = decided
    assert (good.decision, good.champion, good.challenger) == ("promoted", "1", "2")
    assert good.primary_metric == "roc_auc"  # two classes: ROC AUC decides
    scores = good.metrics
    assert scores["challenger"]["roc_auc"] >= scores["champion"]["roc_auc"] - good.tolerance
    assert good.rows["holdout"] == 90 and good.rows["fresh"] == 300
    assert good.rows["train"] == 569 + 300 - 90  # base + drop, minus the holdout
    print(f"\npromoted: {json.dumps(scores)}")
    training = registry.get("tabular:2").manifest.training
    assert training["recipe"] == "tabular" and training["source"] == "sklearn:breast_cancer"
    assert [d["sha256"] for d in training["drops"]] == [d["sha256"] for d in good.drops]


@pytest.mark.slow
def test_a_worse_challenger_is_kept_as_staging(
    decided: tuple[Registry, Decision, Decision],
) -> None:
    registry, _, bad = decided
    assert (bad.decision, bad.champion, bad.challenger, bad.alias) == (
        "kept-as-staging",
        "2",
        "3",
        "staging",
    )
    scores = bad.metrics
    assert scores["challenger"]["roc_auc"] < scores["champion"]["roc_auc"] - bad.tolerance
    assert bad.holdout["rows"] == 300 and bad.holdout["source"].endswith("golden.csv")
    print(f"\nrefused: {json.dumps(scores)}")
    assert registry.aliases("tabular") == {"production": "2", "staging": "3"}


@pytest.mark.slow
def test_the_audit_log_records_both_decisions(
    decided: tuple[Registry, Decision, Decision],
) -> None:
    registry, good, bad = decided
    audit = registry.audit("tabular")
    assert [e["decision"] for e in audit] == ["promoted", "kept-as-staging"]
    assert [e["id"] for e in audit] == [good.id, bad.id]
    for entry in audit:
        assert set(entry["metrics"]) == {"champion", "challenger"}
        assert set(entry["metrics"]["challenger"]) == {"accuracy", "roc_auc", "log_loss"}
        assert entry["tolerance"] == 0.005 and entry["holdout"]["rows"] > 0
        assert entry["data_fingerprint"].startswith("sha256:") and entry["reason"]
    stored = registry.stream("tabular", "audit").items()  # one object per entry, by time
    assert [entry["id"] for _, entry in stored] == [good.id, bad.id]
    moves = [e for e in registry.history("tabular") if e["event"] == "promote"]
    assert [(e["alias"], e["version"], e.get("retrain")) for e in moves] == [
        ("production", "1", None),
        ("production", "2", good.id),
        ("staging", "3", bad.id),
    ]


@pytest.mark.slow
def test_history_shows_decisions_and_rollback_follows_retrains(
    decided: tuple[Registry, Decision, Decision], tmp_path: Path
) -> None:
    from ferry.cli import app

    registry = Registry(tmp_path / "registry")
    shutil.copytree(decided[0].root, registry.root)
    runner = CliRunner()
    args = ["--registry", registry.url]
    rolled = runner.invoke(app, ["models", "rollback", "tabular", *args])
    assert rolled.exit_code == 0, rolled.output
    assert registry.aliases("tabular") == {"production": "1", "staging": "3"}
    shown = runner.invoke(app, ["models", "history", "tabular", *args], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert "retraining decisions" in shown.output and "kept-as-staging" in shown.output
    assert "rollback" in shown.output and "roc_auc" in shown.output


@pytest.mark.slow
def test_metric_tolerance_and_force_from_the_command_line(
    decided: tuple[Registry, Decision, Decision], data: dict[str, Path], tmp_path: Path
) -> None:
    """The bad drop, judged on the golden set again: unchanged, the run is skipped;
    `--force` retrains it, and `--metric accuracy --tolerance 0.5` promotes a challenger
    the default (ROC AUC within 0.005) refused."""
    from ferry.cli import app

    registry = Registry(tmp_path / "registry")
    shutil.copytree(decided[0].root, registry.root)
    argv = ["retrain", "tabular", "--data", str(data["bad"]), "--holdout", str(data["golden"])]
    argv += ["--registry", str(registry.root), "--json"]
    runner = CliRunner()
    skipped = runner.invoke(app, argv)
    assert skipped.exit_code == 0, skipped.output
    assert json.loads(skipped.stdout)["decision"] == "skipped"
    assert registry.versions("tabular") == ["1", "2", "3"]

    forced = runner.invoke(app, [*argv, "--force", "--metric", "accuracy", "--tolerance", "0.5"])
    assert forced.exit_code == 0, forced.output
    decision = json.loads(forced.stdout)
    assert (decision["decision"], decision["champion"], decision["challenger"]) == (
        "promoted",
        "2",
        "4",
    )
    assert (decision["primary_metric"], decision["tolerance"]) == ("accuracy", 0.5)
    old, new = (decision["metrics"][m]["accuracy"] for m in ("champion", "challenger"))
    assert 0.005 < old - new < 0.5, (old, new)  # worse: only the tolerance given promotes it
    assert "accuracy" in decision["reason"]
    assert registry.aliases("tabular")["production"] == "4"
    entry = registry.audit("tabular")[-1]
    assert (entry["id"], entry["primary_metric"], entry["tolerance"]) == (
        decision["id"],
        "accuracy",
        0.5,
    )


def test_drops_are_appended_to_the_users_file_and_three_classes_judge_on_accuracy(
    three_class_csv: Path, tmp_path: Path
) -> None:
    from training.pipeline import train_and_publish

    registry = Registry(tmp_path / "registry")
    config = TrainConfig(epochs=20)
    train_and_publish("tabular", registry, three_class_csv, "kind", config, progress=False)
    rng = np.random.default_rng(11)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 4.0, 0.0], [0.0, 4.0, 4.0]])
    classes = np.repeat([0, 1, 2], 20)
    drop = pd.DataFrame(
        (centres[classes] + rng.normal(0, 0.5, size=(60, 3))) * [1.0, 100.0, 0.01],
        columns=["a", "b", "c"],
    )
    drop["kind"] = np.array([3, 7, 9])[classes]
    drop.to_csv(tmp_path / "drop.csv", index=False)

    decision = retrain("tabular", registry, tmp_path / "drop.csv")

    assert decision.primary_metric == "accuracy"  # three classes: accuracy decides
    assert decision.rows["base"] == 180  # the user's file, not the bundled data
    assert (decision.rows["drops"], decision.rows["fresh"]) == (60, 60)
    assert decision.rows["train"] == 180 + 60 - decision.rows["holdout"]
    training = registry.get(f"tabular:{decision.challenger}").manifest.training
    assert training["source"] == str(three_class_csv) and training["target"] == "kind"
    assert [d["name"] for d in training["drops"]] == ["drop.csv"]


# --- skipping, scheduling, locking ---------------------------------------------------


@pytest.mark.slow
def test_every_with_unchanged_data_trains_once(registry: Registry, data: dict[str, Path]) -> None:
    from ferry.cli import app

    argv = ["retrain", "tabular", "--data", str(data["good"]), "--registry", registry.url]
    result = CliRunner().invoke(app, [*argv, "--every", "0.1s", "--max-runs", "2"])
    assert result.exit_code == 0, result.output
    assert "promoted" in result.output and "skipped" in result.output
    assert registry.versions("tabular") == ["1", "2"]
    assert len(registry.audit("tabular")) == 1


def test_a_second_retrain_of_the_model_is_refused_at_once(
    registry: Registry, data: dict[str, Path]
) -> None:
    with registry.exclusive("tabular", "retrain") as lock:
        with pytest.raises(Locked, match=f"pid {os.getpid()} holds the lock {lock}"):
            retrain("tabular", registry, data["good"])
        other = subprocess.run(
            ferry_retrain(registry, data["good"]),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            env=ONE_THREAD,
        )
    assert other.returncode == 75, other.stderr
    message = " ".join(other.stderr.split())
    assert "another retrain is running" in message and f"pid {os.getpid()}" in message
    assert "retrain.lock" in message
    assert (
        registry.versions("tabular") == ["1"] and registry.lock_holder("tabular", "retrain") is None
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "s3"])
def test_a_move_made_while_the_run_judged_supersedes_it(
    champion_root: Path,
    data: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    backend: str,
) -> None:
    """An operator pins production to v2 while the run is between publishing and
    committing: the pin stays, the challenger stays published, the audit says superseded."""
    from export.transfer import copy_version
    from tests.support.onnx_models import publish_linear
    from training.retrain import job

    if backend == "local":
        shutil.copytree(champion_root, tmp_path / "registry")
        registry = Registry(tmp_path / "registry")
    else:
        url = request.getfixturevalue("s3_server").url()
        registry = Registry(url, cache_dir=tmp_path / "cache")
        copy_version(Registry(champion_root), "tabular:1", registry)
    publish_linear(registry, seed=3, promote=False)  # v2, the operator's choice
    judge_run = job.judge

    def operator_moves_production(*args: object, **kwargs: object) -> tuple[str, str, str]:
        Registry(registry.url).promote("tabular", "2", reason="operator pin")
        return judge_run(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(job, "judge", operator_moves_production)
    decision = retrain("tabular", registry, data["good"])
    assert (decision.decision, decision.challenger, decision.alias_was) == ("superseded", "3", "1")
    assert "production was moved to v2 while this run judged against v1" in decision.reason
    assert registry.aliases("tabular") == {"production": "2"}
    assert registry.versions("tabular") == ["1", "2", "3"]
    [entry] = registry.audit("tabular")
    assert (entry["decision"], entry["id"]) == ("superseded", decision.id)
    moves = [e for e in registry.history("tabular") if e["event"] == "promote"]
    assert [(e["version"], e["reason"]) for e in moves][-1] == ("2", "operator pin")
    assert not any(e.get("retrain") for e in moves)
    assert registry.document("tabular", JOURNAL).read() is None


# --- crashes ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_kill_between_publish_and_promote_leaves_a_consistent_registry(
    registry: Registry, data: dict[str, Path]
) -> None:
    before = registry.history("tabular")
    killed = subprocess.run(
        ferry_retrain(registry, data["good"]),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**ONE_THREAD, CRASH_ENV: "after_publish:exit"},
    )
    assert killed.returncode == KILLED, killed.stderr
    assert registry.versions("tabular") == ["1", "2"]  # a complete, unpromoted candidate
    registry.get("tabular:2")  # whole: its sha256 verifies
    assert registry.aliases("tabular") == {"production": "1"}
    assert registry.orphans() == [] and registry.audit("tabular") == []
    assert registry.document("tabular", JOURNAL).read() is None
    assert registry.history("tabular") == [*before, registry.history("tabular")[-1]]
    assert registry.history("tabular")[-1]["event"] == "publish"

    again = retrain("tabular", registry, data["good"])  # re-running is safe
    assert (again.decision, again.challenger) == ("promoted", "3")
    assert registry.aliases("tabular") == {"production": "3"}
    assert [e["challenger"] for e in registry.audit("tabular")] == ["3"]


@pytest.mark.slow
def test_an_exception_after_training_publishes_nothing(
    registry: Registry, data: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CRASH_ENV, "before_publish")
    with pytest.raises(InjectedCrash):
        retrain("tabular", registry, data["good"])
    assert registry.versions("tabular") == ["1"] and registry.orphans() == []
    assert registry.aliases("tabular") == {"production": "1"} and registry.audit("tabular") == []


@pytest.mark.parametrize(
    ("step", "moved", "audited"),
    [("after_decide", False, False), ("after_alias", True, True), ("after_audit", True, True)],
)
def test_the_next_run_completes_or_drops_a_crashed_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, moved: bool, audited: bool
) -> None:
    from tests.support.onnx_models import publish_linear

    registry = Registry(tmp_path / "registry")
    publish_linear(registry, seed=0)
    publish_linear(registry, seed=1, promote=False)
    decision = Decision(
        "tabular", "promoted", "r", champion="1", challenger="2", alias="production",
        alias_was="1", id="abc",
    )  # fmt: skip
    monkeypatch.setenv(CRASH_ENV, step)
    with pytest.raises(InjectedCrash):
        commit(registry, decision)
    assert registry.aliases("tabular")["production"] == ("2" if moved else "1")
    assert registry.document("tabular", JOURNAL).read() is not None
    monkeypatch.delenv(CRASH_ENV)
    assert recover(registry, "tabular") is not None
    assert [e["id"] for e in registry.audit("tabular")] == (["abc"] if audited else [])
    assert registry.document("tabular", JOURNAL).read() is None
    assert recover(registry, "tabular") is None


def test_a_misspelt_crash_step_is_refused(
    registry: Registry, data: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CRASH_ENV, "after_publsh")
    with pytest.raises(RetrainError, match="after_publish"):
        retrain("tabular", registry, data["good"])


# --- data ------------------------------------------------------------------------------


def test_drops_are_read_in_name_order_and_fingerprinted_by_content(tmp_path: Path) -> None:
    write_drop(tmp_path / "b.csv", 20, seed=1)
    write_drop(tmp_path / "a.csv", 20, seed=2)
    (tmp_path / ".c.csv.tmp").write_text("half a file")
    (tmp_path / "notes.txt").write_text("ignored")
    drops = read_drops(tmp_path)
    assert [d.path.name for d in drops] == ["a.csv", "b.csv"]
    assert fingerprint(drops) == fingerprint(drops[::-1])
    assert fingerprint(drops) != fingerprint(drops[:1])
    with pytest.raises(DataError, match="no such file or folder"):
        read_drops(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no drops \(\*.csv, \*.parquet\) in the folder"):
        read_drops(tmp_path / "empty")


def test_rows_the_champion_trained_on_are_never_in_the_holdout(
    registry: Registry, tmp_path: Path
) -> None:
    table = load_breast_cancer()
    frame = pd.DataFrame(table.X, columns=table.feature_names)
    frame["target"] = np.array(table.labels)[table.y]
    frame.to_csv(tmp_path / "old.csv", index=False)  # the bundled rows, passed off as new
    with pytest.raises(RetrainError, match="0 of the 569 fresh rows are new"):
        retrain("tabular", registry, tmp_path / "old.csv")
    assert registry.versions("tabular") == ["1"]


def test_drop_labels_must_be_the_models_classes(registry: Registry, tmp_path: Path) -> None:
    frame = to_frame(simulate(load_breast_cancer(), 30, seed=3), "target")
    frame.loc[4, "target"] = "benign-ish"
    frame.to_csv(tmp_path / "drop.csv", index=False)
    with pytest.raises(DataError, match=r"'benign-ish' in data row 5.*'malignant', 'benign'"):
        retrain("tabular", registry, tmp_path / "drop.csv")


def test_simulated_rows_are_new_and_shuffling_breaks_the_labels() -> None:
    base = load_breast_cancer()
    drop = simulate(base, 400, seed=5)
    assert drop.X.shape == (400, 30) and drop.X.dtype == np.float32
    assert not {r.tobytes() for r in drop.X} & {r.tobytes() for r in base.X}
    assert 0.5 < drop.y.mean() < 0.75  # about the base's share of benign (0.63)
    shuffled = simulate(base, 400, seed=5, shuffle_labels=True)
    np.testing.assert_array_equal(shuffled.X, drop.X)
    assert sorted(shuffled.y) == sorted(drop.y) and (shuffled.y != drop.y).any()


def test_data_simulate_writes_a_complete_drop(registry: Registry, tmp_path: Path) -> None:
    from ferry.cli import app

    argv = ["data", "simulate", "tabular", "--out", str(tmp_path / "drops"), "--rows", "25"]
    result = CliRunner().invoke(app, [*argv, "--registry", registry.url])
    assert result.exit_code == 0, result.output
    files = list((tmp_path / "drops").iterdir())
    assert len(files) == 1 and files[0].suffix == ".csv" and str(files[0]) in result.output
    frame = pd.read_csv(files[0])
    assert len(frame) == 25 and frame.columns[-1] == "target"
    assert set(frame["target"]) <= {"malignant", "benign"}


# --- rules -----------------------------------------------------------------------------


def test_the_promotion_rule() -> None:
    def scores(old: float, new: float, metric: str = "roc_auc") -> dict[str, dict[str, float]]:
        return {"champion": {metric: old}, "challenger": {metric: new}}

    assert judge("roc_auc", 0.005, "1", scores(0.99, 0.985))[0] == "promoted"
    assert judge("roc_auc", 0.005, "1", scores(0.99, 0.9849))[:2] == ("kept-as-staging", "staging")
    assert judge("roc_auc", 0.0, "1", scores(0.99, 0.99))[0] == "promoted"
    assert judge("log_loss", 0.01, "1", scores(0.10, 0.109, "log_loss"))[0] == "promoted"
    assert judge("log_loss", 0.01, "1", scores(0.10, 0.12, "log_loss"))[0] == "kept-as-staging"
    assert judge("roc_auc", 0.005, None, {"challenger": {"roc_auc": 0.5}})[:2] == (
        "promoted",
        "production",
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("45s", 45), ("30m", 1800), ("6h", 21600), ("1h30m", 5400), ("0.5s", 0.5)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "6", "h", "0s", "5 parsecs", "1h 30m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(RetrainError, match="invalid duration"):
        parse_duration(text)


def test_run_every_keeps_a_fixed_rate_and_stops_after_max_runs() -> None:
    now = [0.0]
    starts: list[float] = []

    def run() -> None:
        starts.append(now[0])
        now[0] += 4.0 if len(starts) == 2 else 1.0  # the second run overruns

    def sleep(seconds: float) -> None:
        now[0] += seconds

    assert run_every(run, 3.0, max_runs=4, sleep=sleep, clock=lambda: now[0]) == 4
    assert starts == [0.0, 3.0, 7.0, 10.0]


# --- --when-drift -----------------------------------------------------------------


@pytest.mark.slow
def test_when_drift_skips_a_drop_like_the_training_data(
    registry: Registry, data: dict[str, Path]
) -> None:
    from ferry.cli import app

    decision = retrain("tabular", registry, data["good"], when_drift=0.2)
    assert (decision.decision, decision.recorded) == ("skipped", False)
    assert decision.drift["observed"] is False and decision.drift["worst_psi"] < 0.2
    assert decision.reason.startswith("no drift in the drops (300 rows) against v1")
    assert registry.versions("tabular") == ["1"] and registry.audit("tabular") == []
    args = ["retrain", "tabular", "--data", str(data["good"]), "--registry", str(registry.root)]
    shown = CliRunner().invoke(app, [*args, "--when-drift"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert "tabular: skipped: no drift in the drops" in shown.output
    assert registry.versions("tabular") == ["1"]


@pytest.mark.slow
def test_when_drift_retrains_a_drifted_drop_through_the_gate(
    registry: Registry, tmp_path: Path
) -> None:
    from ferry.cli import app

    shifted = simulate(load_breast_cancer(), 300, seed=4, shift={"worst area": 1.0})
    to_frame(shifted, "target").to_csv(tmp_path / "drop.csv", index=False)
    args = ["retrain", "tabular", "--data", str(tmp_path / "drop.csv")]
    args += ["--registry", str(registry.root), "--when-drift", "--drift-threshold", "0.25"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    entry = json.loads(result.output.strip().splitlines()[-1])
    assert entry["decision"] in ("promoted", "kept-as-staging") and entry["challenger"] == "2"
    drift = entry["drift"]
    assert drift["observed"] and drift["threshold"] == 0.25 and "worst area" in drift["drifted"]
    assert registry.audit("tabular")[-1]["drift"] == drift  # the audit says why it ran


@pytest.mark.slow
def test_when_drift_needs_a_champion_with_reference_statistics(
    registry: Registry, data: dict[str, Path]
) -> None:
    path = registry.root / "tabular" / "1" / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["drift"]  # as published before reference statistics
    path.write_text(json.dumps(manifest))
    with pytest.raises(RetrainError, match=r"tabular:1 has no reference statistics.*without"):
        retrain("tabular", registry, data["good"], when_drift=0.2)
    assert retrain("tabular", registry, data["good"]).decision == "promoted"


def test_simulate_shifts_a_feature_by_its_standard_deviation() -> None:
    base = load_breast_cancer()
    plain = simulate(base, 2000, seed=3)
    moved = simulate(base, 2000, seed=3, shift={"mean radius": 2.0})
    column = base.feature_names.index("mean radius")
    delta = moved.X[:, column] - plain.X[:, column]
    np.testing.assert_allclose(delta, 2.0 * base.X[:, column].std(), rtol=1e-5)
    others = [i for i in range(30) if i != column]
    np.testing.assert_array_equal(moved.X[:, others], plain.X[:, others])
    with pytest.raises(DataError, match="cannot shift 'mean radiu': no such feature"):
        simulate(base, 10, shift={"mean radiu": 1.0})
