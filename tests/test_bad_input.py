"""Bad input ends in one clear line and exit 2, never a traceback; a fuzz over the files a
user hands us raises nothing but the project's error type."""

import contextlib
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skvm_core.cli import main
from skvm_core.errors import SkvmError
from skvm_core.llm.scripted import ScriptedModel
from skvm_core.profile.tcp import load_tcp
from skvm_core.run.task import load_task
from skvm_core.skill import load_skill
from tests.conftest import SAMPLE_SKILLS

TASK = SAMPLE_SKILLS / "tasks" / "csv-count-status"


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def one_clear_line(output: str) -> bool:
    return "Traceback" not in output and "error" in output


def write_task(tmp_path, **changes):
    folder = tmp_path / "task"
    folder.mkdir()
    data = json.loads((TASK / "task.json").read_text())
    data.pop("skill")
    data.update(changes)
    (folder / "task.json").write_text(json.dumps(data))
    return folder


def test_max_steps_above_the_limit(tmp_path, capsys):
    code, out = run_cli(
        capsys,
        "run",
        "--task",
        str(write_task(tmp_path, maxSteps=100000)),
        "--model",
        "scripted/none.json",
    )
    assert code == 2 and one_clear_line(out) and "maxSteps" in out


@pytest.mark.parametrize("flag", ["--runs", "--concurrency"])
@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_out_of_range_bench_numbers(capsys, flag, value):
    code, out = run_cli(capsys, "bench", "--tasks", str(TASK), flag, value)
    assert code == 2 and one_clear_line(out)


@pytest.mark.parametrize("command", [["diff", "{f}", "{f}"], ["trace", "show", "{f}"]])
def test_non_utf8_files(tmp_path, capsys, command):
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"\xff\xfe not text")
    code, out = run_cli(capsys, *[part.format(f=bad) for part in command])
    assert code == 2 and one_clear_line(out) and "UTF-8" in out


def test_a_symlink_loop_in_a_skill_folder(tmp_path, capsys):
    (tmp_path / "SKILL.md").write_text("---\nname: looped\ndescription: d\n---\nbody\n")
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    code, out = run_cli(capsys, "skill", "check", str(tmp_path))
    assert code == 2 and one_clear_line(out) and "loop" in out


def test_a_yaml_alias_bomb_in_front_matter_is_refused(tmp_path, capsys):
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 9):
        prev = chr(ord("a") + n - 1)
        name = chr(ord("a") + n)
        levels.append(f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    front = "name: bomb\ndescription: d\nmetadata:\n" + "\n".join("  " + line for line in levels)
    (tmp_path / "SKILL.md").write_text(f"---\n{front}\n---\nbody\n")
    code, out = run_cli(capsys, "skill", "check", str(tmp_path), "--json")
    assert code == 2 and one_clear_line(out) and "alias" in out


def test_an_unknown_model_is_a_usage_error(capsys):
    code, out = run_cli(capsys, "run", "--prompt", "hi", "--model", "unknown/x")
    assert code == 2 and one_clear_line(out)


# --- fuzz: whatever the bytes, only SkvmError comes out --------------------------------

TEXT = st.one_of(
    st.text(max_size=400),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _only_our_error(action) -> None:
    with contextlib.suppress(SkvmError):
        action()


@FUZZ
@given(front=TEXT, body=TEXT, raw=st.binary(max_size=300))
def test_fuzz_skill_files(tmp_path_factory, front, body, raw):
    folder = tmp_path_factory.mktemp("skill")
    (folder / "SKILL.md").write_text(f"---\n{front}\n---\n{body}", errors="surrogatepass")
    _only_our_error(lambda: load_skill(folder))
    (folder / "SKILL.md").write_bytes(raw)
    _only_our_error(lambda: load_skill(folder))


def _task_variants():
    base = json.loads((TASK / "task.json").read_text())
    keys = sorted(base) + ["eval", "fixtures", "gradingWeights", "passThreshold", "allowedHosts"]
    return st.dictionaries(st.sampled_from(keys), JSONISH, max_size=4).map(lambda d: {**base, **d})


@FUZZ
@given(data=st.one_of(JSONISH, _task_variants()))
def test_fuzz_task_files(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("task")
    (folder / "task.json").write_text(json.dumps(data))
    _only_our_error(lambda: load_task(folder))


@FUZZ
@given(
    data=st.one_of(
        JSONISH,
        st.dictionaries(
            st.sampled_from(
                [
                    "version",
                    "model",
                    "harness",
                    "profiledAt",
                    "capabilities",
                    "details",
                    "cost",
                    "isPartial",
                ]
            ),
            JSONISH,
            max_size=8,
        ),
    )
)
def test_fuzz_profile_files(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("tcp") / "latest.json"
    path.write_text(json.dumps(data))
    _only_our_error(lambda: load_tcp(path))


@FUZZ
@given(data=st.one_of(JSONISH, st.fixed_dictionaries({"turns": JSONISH})))
def test_fuzz_scripted_model_files(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("script") / "turns.json"
    path.write_text(json.dumps(data))
    _only_our_error(lambda: ScriptedModel.from_file(path))
