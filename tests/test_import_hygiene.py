"""The core stays importable without the heavy or UI dependencies."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return set(out.stdout.split())


def test_importing_core_packages_loads_neither_litellm_nor_textual():
    modules = imported_after(
        "import skvm_core, skvm_core.skill, skvm_core.catalog, skvm_core.config, skvm_core.llm, skvm_core.cli"
    )
    assert "litellm" not in modules
    assert not any(m == "textual" or m.startswith("textual.") for m in modules)


def test_cli_help_path_stays_light():
    modules = imported_after("import skvm_core.cli")
    assert "pydantic" not in modules and "litellm" not in modules and "rich" not in modules


def test_only_the_llm_package_imports_litellm():
    offenders = []
    for path in ROOT.joinpath("skvm_core").rglob("*.py"):
        if path.parent.name == "llm":
            continue
        text = path.read_text()
        if "import litellm" in text or "from litellm" in text:
            offenders.append(str(path))
    for path in ROOT.joinpath("skvm_tui").rglob("*.py"):
        text = path.read_text()
        if "import litellm" in text or "from litellm" in text:
            offenders.append(str(path))
    assert offenders == []


def imported_modules(path: Path) -> set[str]:
    """Every module an `import` statement in `path` names (top level or inside functions)."""
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_core_never_imports_textual_or_the_workbench():
    offenders = {
        str(path): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in ("textual", "skvm_tui")
        )
        for path in ROOT.joinpath("skvm_core").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_llm_package_imports_litellm_by_its_imports():
    offenders = [
        str(path)
        for package in ("skvm_core", "skvm_tui")
        for path in ROOT.joinpath(package).rglob("*.py")
        if path.parent.name != "llm"
        and any(m.split(".")[0] == "litellm" for m in imported_modules(path))
    ]
    assert offenders == []


def test_profile_and_bench_do_not_import_each_other_both_ways():
    profile_to_bench = [
        str(path)
        for path in ROOT.joinpath("skvm_core", "profile").rglob("*.py")
        if any(m.startswith("skvm_core.bench") for m in imported_modules(path))
    ]
    assert profile_to_bench == []  # bench reads profiles; profiles never need the bench


def test_the_judge_does_not_import_the_graders():
    judge = ROOT / "skvm_core" / "run" / "judge.py"
    assert "skvm_core.run.graders" not in imported_modules(judge)


def test_ray_is_imported_only_by_its_executor():
    modules = imported_after(
        "import skvm_core.bench.orchestrator, skvm_core.profile.runner, skvm_core.executors; "
        "skvm_core.executors.make_executor('local')"
    )
    assert "ray" not in modules
    offenders = [
        str(path)
        for path in ROOT.joinpath("skvm_core").rglob("*.py")
        if path.name != "ray_executor.py"
        and any(m.split(".")[0] == "ray" for m in imported_modules(path))
    ]
    assert offenders == []
