"""The profile runner with scripted models: resume after SIGKILL, policies, inversions, store."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from skvm_core.llm import ScriptedModel, ScriptedTurn, register_scripted
from skvm_core.profile.generators import GENERATORS
from skvm_core.profile.instance import TEST_LEVELS
from skvm_core.profile.runner import (
    InstanceRecord,
    ProfileOptions,
    Profiler,
    level_passed,
    store_tcp,
)
from skvm_core.profile.store import find_profile, import_profile, load_profile
from skvm_core.profile.tcp import ProfileError, load_tcp, parse_tcp
from skvm_core.store.workspace import Workspace
from tests.conftest import fixtures_dir

ROOT = Path(__file__).resolve().parent.parent
PRIMITIVES = ["reason.arithmetic", "reason.logic", "follow.procedure", "reason.spatial"]


def comparable(tcp: dict) -> dict:
    """The TCP minus what legitimately differs between two runs (time, paths)."""
    tcp = json.loads(json.dumps(tcp))
    for key in ("profiledAt", "sessionWallMs", "modelTimeMs"):
        tcp.pop(key, None)
    tcp["cost"].pop("durationMs", None)
    for detail in tcp["details"]:
        for result in detail["levelResults"]:
            result.pop("durationMs", None)
            for item in result.get("instances", []) + result.get("reruns", []):
                item.pop("wallMs", None)
                item.pop("modelMs", None)
                item.pop("trace", None)
    return tcp


def child(workspace: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "profile_child.py"),
            str(workspace),
            ",".join(PRIMITIVES),
            str(out),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_sigkill_mid_run_then_resume_gives_the_same_profile_without_rerunning(tmp_path):
    total = len(PRIMITIVES) * len(TEST_LEVELS) * 2
    # Uninterrupted reference run.
    reference = child(tmp_path / "ws-a", tmp_path / "a.json")
    assert reference.wait(timeout=600) == 0, reference.stderr.read()
    expected = json.loads((tmp_path / "a.json").read_text())
    assert expected["executed"] == total

    # Killed after some instances finished, then resumed.
    victim = child(tmp_path / "ws-b", tmp_path / "b.json")
    finished = []
    for line in victim.stdout:
        finished.append(line.strip())
        if len(finished) == 7:
            victim.send_signal(signal.SIGKILL)
            break
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL
    stored = list((tmp_path / "ws-b").rglob("instances/*/*.json"))
    assert 7 <= len(stored) < total

    resumed = child(tmp_path / "ws-b", tmp_path / "b.json")
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()
    result = json.loads((tmp_path / "b.json").read_text())
    assert result["reused"] == len(stored)
    assert result["executed"] == total - len(stored)
    assert comparable(result["tcp"]) == comparable(expected["tcp"])


def scripted_profile(tmp_path, fn, **options) -> tuple:
    model = register_scripted(ScriptedModel(fn))
    profiler = Profiler(ProfileOptions(model=model, **options), Workspace(tmp_path))
    import asyncio

    return asyncio.run(profiler.run()), profiler


def perfect(messages, tools):
    """Answers from the generators' own reference solutions (text primitives only)."""
    prompt = next(m["content"] for m in messages if m["role"] == "user")
    for generator in GENERATORS.values():
        for level in TEST_LEVELS:
            for index in range(4):
                instance = generator.generate(level, seed=1, index=index)
                if instance.prompt == prompt:
                    return ScriptedTurn(text=generator.solve(instance, Path("/nonexistent")))
    return ScriptedTurn(text="?")


def test_a_model_that_answers_correctly_reaches_l3(tmp_path):
    tcp, _ = scripted_profile(
        tmp_path, perfect, primitives=["reason.arithmetic", "follow.procedure"], instances=2, seed=1
    )
    assert tcp.capabilities == {"reason.arithmetic": "L3", "follow.procedure": "L3"}
    result = tcp.detail("reason.arithmetic").result("L2")
    assert result.pass_count == result.total_count == 2
    assert result.model_extra["passRateInterval"][0] > 0.3
    assert tcp.model_extra["seed"] == 1 and tcp.model_extra["policy"] == "strict"
    assert tcp.is_partial  # only two primitives


def test_unprofiled_primitives_are_absent_not_l0(tmp_path):
    tcp, _ = scripted_profile(
        tmp_path, perfect, primitives=["reason.arithmetic"], instances=1, seed=1
    )
    assert tcp.level_of("gen.code.sql") is None
    assert tcp.level_of("reason.arithmetic") == "L3"


def test_fast_mode_stops_at_the_first_failing_level(tmp_path):
    tcp, profiler = scripted_profile(
        tmp_path,
        lambda m, t: ScriptedTurn(text="no idea"),
        primitives=["reason.arithmetic"],
        instances=2,
        fast=True,
    )
    assert tcp.capabilities["reason.arithmetic"] == "L0"
    assert [r.level for r in tcp.detail("reason.arithmetic").level_results] == ["L1"]
    assert profiler.executed == 2


def test_inversions_are_rerun_and_noted(tmp_path):
    def only_hard(messages, tools):
        prompt = next(m["content"] for m in messages if m["role"] == "user")
        turn = perfect(messages, tools)
        return (
            turn if "compounded" in prompt else ScriptedTurn(text="wrong 0")
        )  # L3 right, L1/L2 wrong

    tcp, profiler = scripted_profile(
        tmp_path, only_hard, primitives=["reason.arithmetic"], instances=1, seed=1
    )
    detail = tcp.detail("reason.arithmetic")
    assert detail.highest_level == "L3"  # the reference's rule
    assert "inversion" in detail.calibration_note and "re-ran L1" in detail.calibration_note
    assert detail.result("L1").model_extra["reruns"]


def test_level_policies():
    def records(*flags):
        return [
            InstanceRecord(primitive="p", level="L1", index=i, passed=bool(f), skipped=f is None)
            for i, f in enumerate(flags)
        ]

    assert level_passed(records(True, True, None), "strict")
    assert not level_passed(records(True, False, True), "strict")
    assert level_passed(records(True, False, True), "majority")
    assert not level_passed(records(None, None), "strict")  # nothing judged: not passed


def test_store_and_find_profiles(tmp_path):
    workspace = Workspace(tmp_path)
    tcp, _ = scripted_profile(tmp_path, perfect, primitives=["reason.logic"], instances=1, seed=1)
    path = store_tcp(tcp, workspace)
    assert path.name.startswith("v_") and (path.parent / "latest.json").is_file()
    assert load_profile(tcp.model, workspace).capabilities == tcp.capabilities


# Third-party data is the point: the reference's published TCP files round-trip.
@pytest.mark.shared_fixtures
@pytest.mark.parametrize(
    "path",
    sorted(
        str(p)
        for p in (Path(__file__).parent.parent.parent / "shared" / "fixtures" / "skvm-tcp").rglob(
            "*.json"
        )
        if "failure" not in p.name
    ),
)
def test_reference_profiles_load_and_round_trip(path):
    fixtures_dir()
    original = json.loads(Path(path).read_text())
    tcp = load_tcp(path)
    assert json.loads(tcp.to_json()) == original
    assert tcp.version == "1.0" and tcp.capabilities


# Third-party data is the point: a published reference profile is imported.
@pytest.mark.shared_fixtures
def test_import_a_published_profile(tmp_path):
    source = fixtures_dir() / "skvm-tcp" / "bare-agent" / "openai--gpt-5.4" / "latest.json"
    workspace = Workspace(tmp_path)
    latest = import_profile(source, workspace)
    assert find_profile("openai/gpt-5.4", workspace) == latest
    assert load_profile("openai/gpt-5.4", workspace).capabilities == load_tcp(source).capabilities


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "not valid JSON"),
        ('{"version": "1.0"}', "model"),
        (
            '{"version": "1.0", "model": "m", "profiledAt": "x", "capabilities": {"a": "L9"}}',
            "capabilities",
        ),
    ],
)
def test_malformed_profiles_are_clear_errors(text, message):
    with pytest.raises(ProfileError, match=message):
        parse_tcp(text)
