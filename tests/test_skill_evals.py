"""skill-creator evals (evals/evals.json) import as tasks and export back unchanged."""

from __future__ import annotations

import json

import pytest

from skvm_core.bench.importers import import_path
from skvm_core.bench.skill_evals import expectation_criterion, export_skill_evals
from skvm_core.errors import SkvmError
from skvm_core.run.task import load_task

EVALS = {
    "skill_name": "ledger-close",
    "evals": [
        {
            "id": 1,
            "prompt": "Close the March ledger in evals/files/march.csv and write close.json.",
            "expected_output": "A closing summary with the balance per account.",
            "files": ["evals/files/march.csv"],
            "expectations": [
                "The output file close.json exists",
                'close.json contains "cash"',
                'close.json is a JSON object with keys "accounts", "balance"',
                "The summary explains why the suspense account is not zero",
            ],
        },
        {
            "id": 2,
            "prompt": "Export the trial balance as tb.csv.",
            "expected_output": "",
            "files": [],
            "expectations": [
                "tb.csv has the header `account,debit,credit`",
                "`python3 -c 'import csv'` exits 0",
                "tb.csv matches the pattern `cash,\\d+`",
            ],
        },
    ],
}


@pytest.fixture
def skill(tmp_path):
    folder = tmp_path / "ledger-close"
    (folder / "evals" / "files").mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        "---\nname: ledger-close\ndescription: Close a ledger.\n---\nbody\n"
    )
    (folder / "evals" / "files" / "march.csv").write_text("account,amount\ncash,10\n")
    (folder / "evals" / "evals.json").write_text(json.dumps(EVALS))
    return folder


def test_evals_import_as_tasks_with_checks_where_stated_and_a_judge_elsewhere(skill, tmp_path):
    results = import_path(skill, tmp_path / "out")
    assert [r.skipped for r in results] == [None, None]
    first, second = (load_task(r.task_dir) for r in results)
    methods = [(c.method, getattr(c, "mode", None)) for c in first.eval]
    assert methods == [
        ("file-check", "regex"),
        ("file-check", "contains"),
        ("file-check", "json-schema"),
        ("llm-judge", None),
    ]
    assert first.eval[2].expected == {"type": "object", "required": ["accounts", "balance"]}
    assert first.grading_type == "hybrid" and "need a judge model" in results[0].notes[0]
    assert (first.fixtures_dir / "evals" / "files" / "march.csv").read_text().startswith("account")
    assert first.skill_paths() == [skill.resolve()]
    assert [c.method for c in second.eval] == ["file-check", "script", "file-check"]
    assert second.grading_type == "automated"


def test_imported_evals_export_back_to_the_same_document(skill, tmp_path):
    results = import_path(skill, tmp_path / "out")
    tasks = [load_task(r.task_dir) for r in results]
    assert export_skill_evals(tasks, "ledger-close") == EVALS


def test_the_header_check_accepts_the_header_and_refuses_another():
    import re

    check = expectation_criterion("report.csv has the header `a,b`")
    assert re.search(check["expected"], "a,b\n1,2\n")
    assert not re.search(check["expected"], "a,b,c\n1,2,3\n")


def test_an_eval_file_outside_the_skill_is_not_copied(skill, tmp_path):
    (tmp_path / "secret.txt").write_text("host file")
    data = dict(EVALS, evals=[dict(EVALS["evals"][0], files=["../secret.txt"])])
    (skill / "evals" / "evals.json").write_text(json.dumps(data))
    [result] = import_path(skill, tmp_path / "out")
    assert result.skipped and "outside" in result.skipped
    assert not list((tmp_path / "out").rglob("secret.txt"))


def test_a_malformed_evals_file_is_a_clear_error(skill, tmp_path):
    (skill / "evals" / "evals.json").write_text('{"evals": [{"id": 1}]}')
    with pytest.raises(SkvmError, match="not a skill-creator evals file"):
        import_path(skill, tmp_path / "out")


def test_the_cli_imports_evals_and_exports_them_back(skill, tmp_path, capsys):
    from skvm_core.cli import main

    out = tmp_path / "tasks"
    assert main(["bench", "import", str(skill), "--out", str(out)]) == 0
    written = tmp_path / "evals.json"
    assert (
        main(["bench", "export-evals", str(out), "--skill", "ledger-close", "--out", str(written)])
        == 0
    )
    assert json.loads(written.read_text()) == EVALS
    # It never replaces a file unasked.
    assert main(["bench", "export-evals", str(out), "--skill", "x", "--out", str(written)]) == 2
    assert "exists" in capsys.readouterr().err
