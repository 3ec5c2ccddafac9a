import contextlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skvm_core.errors import SkillError, SkvmError
from skvm_core.skill import load_skill
from tests.conftest import SAMPLE_SKILLS, fixtures_dir


def write_skill(root: Path, text: str | bytes, name: str = "demo") -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    (folder / "SKILL.md").write_bytes(data)
    return folder


GOOD = "---\nname: demo\ndescription: A demo skill.\n---\n\n# Demo\n\nDo things.\n"


# Third-party data is the point: real published skills load as the spec allows.
@pytest.mark.shared_fixtures
@pytest.mark.parametrize(
    "name", ["mcp-builder", "internal-comms", "brand-guidelines", "skill-creator"]
)
def test_real_skills_load(name):
    skill = load_skill(fixtures_dir() / "real-skills" / name)
    assert skill.name == name
    assert skill.is_valid, skill.errors
    assert skill.ir.sections
    assert len(skill.content_hash) == 64


# Third-party data is the point: a real skill's bundle (scripts, references, assets).
@pytest.mark.shared_fixtures
def test_real_skill_bundle_files_are_classified():
    skill = load_skill(fixtures_dir() / "real-skills" / "mcp-builder")
    paths = {f.path: f for f in skill.files}
    assert "LICENSE.txt" in paths and paths["LICENSE.txt"].is_text
    assert any(p.startswith("reference/") for p in paths)
    assert all(f.size > 0 for f in skill.files)


# Third-party data is the point: a real long skill warns about its body budget.
@pytest.mark.shared_fixtures
def test_long_real_skill_gets_a_body_budget_warning_not_an_error():
    skill = load_skill(fixtures_dir() / "real-skills" / "skill-creator")
    assert skill.is_valid
    assert any(d.code == "body-tokens" for d in skill.warnings)


def test_sample_skills_load_cleanly():
    folders = [p for p in SAMPLE_SKILLS.iterdir() if (p / "SKILL.md").is_file()]
    assert len(folders) >= 5
    for folder in folders:
        skill = load_skill(folder)
        assert skill.is_valid and not skill.warnings, (folder, skill.diagnostics)


def test_markdown_ir_spans_point_at_the_right_lines(tmp_path):
    text = (
        "---\nname: demo\ndescription: d\n---\n"  # lines 1-4
        "# Top\n"  # 5
        "\n"  # 6
        "## Steps\n"  # 7
        "1. first\n"  # 8
        "2. second\n"  # 9
        "\n"  # 10
        "```python\n"  # 11
        "import csv\n"  # 12
        "```\n"  # 13
        "## Notes\n"  # 14
        "- a\n"  # 15
    )
    skill = load_skill(write_skill(tmp_path, text))
    lines = text.splitlines()
    sections = {s.title: s for s in skill.ir.sections}
    assert sections["Steps"].path == ("Top", "Steps")
    assert (sections["Steps"].span.start, sections["Steps"].span.end) == (7, 13)
    assert lines[sections["Notes"].span.start - 1] == "## Notes"
    (block,) = skill.ir.code_blocks
    assert block.language == "python" and block.code == "import csv\n"
    assert (block.span.start, block.span.end) == (11, 13)
    assert block.section_path == ("Top", "Steps")
    (procedure,) = skill.ir.procedures
    assert [i.number for i in procedure.items] == [1, 2]
    assert [lines[i.span.start - 1] for i in procedure.items] == ["1. first", "2. second"]
    bullets = [lst for lst in skill.ir.lists if not lst.ordered]
    assert bullets[0].items[0].text == "a"


def test_content_hash_changes_with_any_file_and_not_otherwise(tmp_path):
    folder = write_skill(tmp_path, GOOD)
    (folder / "scripts").mkdir()
    (folder / "scripts" / "a.py").write_text("print(1)\n")
    first = load_skill(folder).content_hash
    assert load_skill(folder).content_hash == first
    (folder / "scripts" / "a.py").write_text("print(2)\n")
    assert load_skill(folder).content_hash != first


@pytest.mark.parametrize(
    "front, code, severity",
    [
        ("description: d", "name-missing", "error"),
        ("name: demo", "description-missing", "error"),
        ("name: Demo\ndescription: d", "name-shape", "error"),
        ("name: de--mo\ndescription: d", "name-shape", "error"),
        ("name: other\ndescription: d", "name-folder", "error"),
        ("name: demo\ndescription: " + "x" * 1068, "description-length", "warning"),
        ("name: demo\ndescription: d\nauthor: me", "front-matter-unknown", "info"),
    ],
)
def test_validation_severities(tmp_path, front, code, severity):
    skill = load_skill(write_skill(tmp_path, f"---\n{front}\n---\nbody\n"))
    found = {d.code: d.severity for d in skill.diagnostics}
    assert found.get(code) == severity


def test_name_longer_than_64_is_an_error(tmp_path):
    name = "a" * 65
    skill = load_skill(
        write_skill(tmp_path, f"---\nname: {name}\ndescription: d\n---\n", name=name)
    )
    assert any(d.code == "name-length" for d in skill.errors)


def test_missing_skill_md(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "skill.md").write_text(GOOD)
    with pytest.raises(SkillError, match="no SKILL.md") as info:
        load_skill(tmp_path / "x")
    assert "rename skill.md" in str(info.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("# no front matter\n", "no front matter"),
        ("---\nname: demo\n", "not closed"),
        ("---\nname: demo\ndescription: [unclosed\n---\n", r"not valid YAML \(line \d+\)"),
        ("---\n- a\n- b\n---\n", "must be a YAML mapping"),
        ("---\nname: [1, 2]\ndescription: d\n---\n", "`name` must be a string"),
    ],
)
def test_broken_front_matter(tmp_path, text, message):
    with pytest.raises(SkillError, match=message):
        load_skill(write_skill(tmp_path, text))


def test_yaml_error_reports_the_skill_md_line(tmp_path):
    text = "---\nname: demo\ndescription: ok\nbad: : :\n---\n"
    with pytest.raises(SkillError, match=r"line 4"):
        load_skill(write_skill(tmp_path, text))


def test_non_utf8_skill_md(tmp_path):
    with pytest.raises(SkillError, match="not UTF-8.*line 3"):
        load_skill(write_skill(tmp_path, b"---\nname: demo\ndescription: caf\xe9\n---\n"))


def test_symlink_leaving_the_folder_is_refused(tmp_path):
    folder = write_skill(tmp_path, GOOD)
    os.symlink("/etc/hostname", folder / "host.txt")
    with pytest.raises(SkillError, match="outside the skill folder"):
        load_skill(folder)


def test_symlinked_directory_leaving_the_folder_is_refused(tmp_path):
    folder = write_skill(tmp_path, GOOD)
    os.symlink("/etc", folder / "etc")
    with pytest.raises(SkillError, match="outside the skill folder"):
        load_skill(folder)


def test_symlink_inside_the_folder_is_fine(tmp_path):
    folder = write_skill(tmp_path, GOOD)
    (folder / "a.txt").write_text("x")
    os.symlink(folder / "a.txt", folder / "b.txt")
    assert {f.path for f in load_skill(folder).files} == {"a.txt", "b.txt"}


def test_oversize_files_are_refused(tmp_path, monkeypatch):
    from skvm_core.skill import load as load_module

    folder = write_skill(tmp_path, GOOD)
    monkeypatch.setattr(load_module, "MAX_BUNDLE_FILE_BYTES", 1000)
    (folder / "big.bin").write_bytes(b"\0" * 1001)
    with pytest.raises(SkillError, match="over the 1,000-byte limit"):
        load_skill(folder)
    monkeypatch.setattr(load_module, "MAX_SKILL_MD_BYTES", 10)
    with pytest.raises(SkillError, match="SKILL.md"):
        load_skill(folder)


def test_binary_and_text_bundle_files(tmp_path):
    folder = write_skill(tmp_path, GOOD)
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    (folder / "notes.md").write_text("héllo")
    kinds = {f.path: f.is_text for f in load_skill(folder).files}
    assert kinds == {"logo.png": False, "notes.md": True}


def test_not_a_folder(tmp_path):
    with pytest.raises(SkillError, match="not a folder"):
        load_skill(tmp_path / "missing")


yaml_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(front=yaml_text, body=yaml_text)
def test_fuzzed_front_matter_and_body_raise_only_project_errors(tmp_path, front, body):
    folder = write_skill(tmp_path, f"---\n{front}\n---\n{body}", name="fuzz")
    try:
        skill = load_skill(folder)
    except SkvmError:
        return
    assert skill.name


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.dictionaries(
        st.sampled_from(
            ["name", "description", "license", "compatibility", "metadata", "allowed-tools", "x"]
        ),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False)
            | st.text(max_size=40)
            | st.dates(),
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(st.text(max_size=5), children, max_size=3)
            ),
            max_leaves=8,
        ),
    )
)
def test_fuzzed_structured_front_matter_raises_only_project_errors(tmp_path, data):
    import yaml

    folder = write_skill(tmp_path, "---\n" + yaml.safe_dump(data) + "---\nbody\n", name="fuzz2")
    with contextlib.suppress(SkvmError):
        load_skill(folder)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=400))
def test_fuzzed_bytes_raise_only_project_errors(tmp_path, raw):
    folder = write_skill(tmp_path, b"---\nname: fuzz3\ndescription: d\n---\n" + raw, name="fuzz3")
    with contextlib.suppress(SkvmError):
        load_skill(folder)
