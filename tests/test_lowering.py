"""Lowering on skills that are not among the samples: the lowered text, the verified runs
of the scripts it offers, the token budget, determinism and the guard."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from skvm_core.agent.sandbox import run_command
from skvm_core.compile import compile_skill
from skvm_core.compile.lower import REFERENCE_FILE, _lower, lowering_guard
from skvm_core.compile.variant import write_variant
from skvm_core.compile.verify import run_sync
from skvm_core.profile.tcp import TCP
from skvm_core.skill import load_skill

WEAK = {p: "L0" for p in ("gen.code.python", "gen.code.shell", "tool.exec", "tool.call.format",
                          "follow.procedure", "reason.arithmetic", "reason.planning",
                          "follow.delegation", "tool.file.read", "tool.file.write")}  # fmt: skip


def weak_local() -> TCP:
    return TCP(model="local/weak-model", profiledAt="now", capabilities=WEAK)


def weak_api() -> TCP:
    return TCP(
        model="openai/weak-model",
        profiledAt="now",
        capabilities={**WEAK, "tool.call.format": "L3", "tool.exec": "L2"},
    )


def write_skill(root: Path, name: str, body: str, files: dict[str, str] | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    front = f"---\nname: {name}\ndescription: Test skill {name} for the lowering passes.\n---\n\n"
    (folder / "SKILL.md").write_text(front + textwrap.dedent(body).lstrip(), "utf-8")
    for relative, text in (files or {}).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(textwrap.dedent(text).lstrip(), "utf-8")
    return folder


MERGE_SCRIPT = '''
    """Merge JSON-lines records that share a key."""
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--key", required=True, help="field that identifies a record")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--keep-first", action="store_true", help="the first record of a key wins")
    group.add_argument("--keep-last", action="store_true", help="the last record of a key wins")
    parser.add_argument("--out", required=True, help="JSON file to write")
    args = parser.parse_args()
    merged = {}
    with open(args.file) as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                if args.keep_last or record[args.key] not in merged:
                    merged[record[args.key]] = record
    with open(args.out, "w") as handle:
        json.dump([merged[k] for k in sorted(merged)], handle, indent=2)
'''

MERGE_SKILL = """
    # Record merge

    Merge exported records that share an id into one record each.

    ## Background

    Exports from the customer system contain one JSON object per line. When a customer
    record is edited, the system appends the new version instead of replacing the old
    one, so one id can appear several times. Older exports kept the first version,
    newer ones should keep the last; the task states which policy applies. Records
    without the key field are corrupt and should be reported, not merged.

    ## How to merge

    1. Open the export and find the field that identifies a record.
    2. Write a Python script `merge.py` that reads the lines with `json.loads` and keeps
       one record per id, then run it and look at what it wrote.
    3. Decide whether the first or the last record of an id wins; the task says which.

    The bundled script does all of it:
    `python3 scripts/merge_records.py people.jsonl --key id --keep-last --out merged.json`

    ## Output format

    The output is a JSON list of records sorted by the key.

    ## Rules

    - Never drop a record whose key appears once.
    - `merge.py` must run without errors.
"""

FREQ_SKILL = """
    # Word frequencies

    Report the most frequent words of a text file as JSON. Count with code, never by eye.

    ## Background

    Editors use the report to spot overused words in drafts. Words are compared in lower
    case with surrounding punctuation removed, so "The" and "the," count as one word.
    Hyphenated words stay whole. Numbers count as words too; nothing is filtered out.

    ## Example

    ```python
    import json
    from collections import Counter

    counts = Counter()
    with open("notes.txt") as handle:
        for line in handle:
            counts.update(word.lower().strip(".,;:!?") for word in line.split())
    with open("freq.json", "w") as handle:
        json.dump(dict(counts.most_common(10)), handle, indent=2, sort_keys=True)
    ```

    ## Output format

    A JSON object from word to count, keys sorted, at most 10 words.
"""

CHECKSUM_SCRIPT = """
    #!/usr/bin/env bash
    set -euo pipefail
    printf '%s %s\\n' "$(sha256sum < "$1" | cut -c1-16)" "$(wc -c < "$1")"
"""

CHECKSUM_SKILL = """
    # Checksums

    Record a short checksum and the size of every file in a folder, one result file each.

    ## Background

    The release team compares these records before and after a transfer to find files that
    changed or were cut short. A record holds the first 16 hex digits of the file's SHA-256
    and its size in bytes, separated by one space. Sizes are exact byte counts, never
    rounded, and a file of zero bytes still gets a record.

    ## Do it with the script

    ```bash
    mkdir -p sums
    bash scripts/checksum.sh data/a.bin > sums/a.txt
    ```

    Repeat that command for each file in `data/`, changing only the file names.

    ## Checks

    - There is exactly one file in `sums/` per file in `data/`.
"""


def run_here(command: str, folder: Path) -> subprocess.CompletedProcess:
    result = run_sync(run_command(command, folder, timeout_s=30))
    return subprocess.CompletedProcess(command, result.exit_code, result.stdout, result.stderr)


def variant_for(skill_dir: Path, tcp: TCP, out: Path):
    result = compile_skill(load_skill(skill_dir), tcp)
    assert not result.errors, result.errors
    return result, write_variant(result, out)


def test_bundled_script_becomes_the_steps_with_every_call_shape(tmp_path):
    skill_dir = write_skill(
        tmp_path, "record-merge", MERGE_SKILL, {"scripts/merge_records.py": MERGE_SCRIPT}
    )
    result, variant = variant_for(skill_dir, weak_local(), tmp_path / "variant")
    text = result.variant.text
    assert result.variant.lowered and result.variant.guard_violations == []
    # One line per way to call it, filled with the skill's own example values.
    # A list, not one block: a small model runs every line of a block it copies.
    assert (
        "   - `python3 scripts/merge_records.py people.jsonl --key id --keep-first --out merged.json`"
        in text
    )
    assert (
        "   - `python3 scripts/merge_records.py people.jsonl --key id --keep-last --out merged.json`"
        in text
    )
    # Argument meanings come from the script's own --help, when they fit the budget.
    full = _lower(
        load_skill(skill_dir), result.artifacts["executable"], result.gaps, "code-act", "full"
    )
    assert "   - `--keep-last`: the last record of a key wins" in full.text
    assert "Then reply DONE." in text  # code-act idiom
    # What the result must be stays word for word; how the original did it moves away.
    assert "The output is a JSON list of records sorted by the key." in text
    assert "- Never drop a record whose key appears once." in text
    assert "Write a Python script `merge.py`" not in text and "`merge.py` must run" not in text
    assert any("merge.py" in r for r in result.variant.replaced)
    assert "Write a Python script `merge.py`" in (variant / REFERENCE_FILE).read_text()
    original_tokens, compiled_tokens = result.prompt_tokens
    assert compiled_tokens <= original_tokens
    # The offered command really does the job on a task's own file names.
    work = tmp_path / "work"
    (work / "scripts").mkdir(parents=True)
    (work / "scripts" / "merge_records.py").write_bytes(
        (variant / "scripts" / "merge_records.py").read_bytes()
    )
    (work / "staff.jsonl").write_text(
        '{"uid": 2, "v": "a"}\n{"uid": 1, "v": "b"}\n{"uid": 2, "v": "c"}\n'
    )
    ran = run_here(
        "python3 scripts/merge_records.py staff.jsonl --key uid --keep-first --out out.json", work
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads((work / "out.json").read_text()) == [
        {"uid": 1, "v": "b"},
        {"uid": 2, "v": "a"},
    ]
    meta = json.loads((variant / ".skvm" / "meta.json").read_text())
    checks = meta["lowering"]["scripts"][0]["checks"]
    assert [c["passed"] for c in checks] == [True, True], checks


def test_example_block_becomes_a_verified_parameterised_script(tmp_path):
    skill_dir = write_skill(tmp_path, "word-freq", FREQ_SKILL)
    result, variant = variant_for(skill_dir, weak_local(), tmp_path / "variant")
    assert result.variant.lowered and result.variant.guard_violations == []
    script = "scripts/example.py"
    assert (variant / script).is_file()
    text = result.variant.text
    assert f"python3 {script} notes.txt --out freq.json" in text
    assert "`notes.txt` (the input)" in text and "`freq.json` (the file to write)" in text
    assert "A JSON object from word to count, keys sorted, at most 10 words." in text
    assert "Counter()" not in text  # the code is in the script, not retyped by the model
    meta = json.loads((variant / ".skvm" / "meta.json").read_text())
    extracted = next(s for s in meta["lowering"]["scripts"] if s["origin"] == "extracted")
    assert all(c["passed"] for c in extracted["checks"]), extracted
    original_tokens, compiled_tokens = result.prompt_tokens
    assert compiled_tokens <= original_tokens
    # With the task's names in place of the example's, it computes the right thing.
    work = tmp_path / "work"
    (work / "scripts").mkdir(parents=True)
    (work / script).write_bytes((variant / script).read_bytes())
    (work / "essay.txt").write_text("The cat. the dog\nthe end, dog!\n")
    ran = run_here(f"python3 {script} essay.txt --out top.json", work)
    assert ran.returncode == 0, ran.stderr
    assert json.loads((work / "top.json").read_text()) == {"cat": 1, "dog": 2, "end": 1, "the": 3}


@pytest.mark.parametrize(
    ("harness", "tool"),
    [("opencode", "bash"), ("codex", "exec_command"), ("claude-code", "Bash"), ("pi", "bash")],
)
def test_a_variant_for_an_external_harness_names_its_shell_tool_and_shows_the_step_up_front(
    tmp_path, harness, tool
):
    from skvm_core.skill.frontmatter import parse_front_matter, split_front_matter

    skill_dir = write_skill(
        tmp_path, "checksums", CHECKSUM_SKILL, {"scripts/checksum.sh": CHECKSUM_SCRIPT}
    )
    ours = compile_skill(load_skill(skill_dir), weak_local())
    theirs = compile_skill(load_skill(skill_dir), weak_local(), harness=harness)
    text = theirs.variant.text
    assert theirs.variant.lowered and theirs.variant.guard_violations == []
    assert f"call the tool `{tool}` with this command" in text
    assert "execute_command" not in text and "reply with this block" not in text
    # The description, all the harness shows before a load, carries a verified command.
    described = parse_front_matter(split_front_matter(text).front_matter)[0].description
    original = load_skill(skill_dir).description
    assert (
        described.startswith(original)
        and "Its verified command: `bash scripts/checksum.sh" in described
    )
    # Our own agent's variant is unchanged by this.
    assert "Its verified command" not in ours.variant.text
    assert "reply with this block" in ours.variant.text


def test_a_command_to_repeat_per_file_becomes_a_verified_loop(tmp_path):
    skill_dir = write_skill(
        tmp_path, "checksums", CHECKSUM_SKILL, {"scripts/checksum.sh": CHECKSUM_SCRIPT}
    )
    result, variant = variant_for(skill_dir, weak_api(), tmp_path / "variant")
    text = result.variant.text
    loop = 'for f in data/*.bin; do bash scripts/checksum.sh "$f" > "sums/$(basename "$f" .bin).txt"; done'
    assert loop in text and "mkdir -p sums" in text
    assert "call the tool `execute_command` with this command" in text  # native idiom
    assert "- There is exactly one file in `sums/` per file in `data/`." in text
    meta = json.loads((variant / ".skvm" / "meta.json").read_text())
    assert meta["lowering"]["scripts"][0]["loop"]["passed"]
    work = tmp_path / "work"
    (work / "scripts").mkdir(parents=True)
    (work / "scripts" / "checksum.sh").write_bytes(
        (variant / "scripts" / "checksum.sh").read_bytes()
    )
    for name in ("x", "y", "z"):
        (work / "data").mkdir(exist_ok=True)
        (work / "data" / f"{name}.bin").write_text(name * 3)
    ran = run_here(f"mkdir -p sums\n{loop}", work)
    assert ran.returncode == 0, ran.stderr
    assert sorted(p.name for p in (work / "sums").iterdir()) == ["x.txt", "y.txt", "z.txt"]
    assert (work / "sums" / "x.txt").read_text().split()[1] == "3"


def test_lowering_is_deterministic(tmp_path):
    skill_dir = write_skill(tmp_path, "word-freq", FREQ_SKILL)
    skill = load_skill(skill_dir)
    first = write_variant(
        compile_skill(skill, weak_local(), cache_dir=tmp_path / "c1"), tmp_path / "a"
    )
    second = write_variant(
        compile_skill(skill, weak_local(), cache_dir=tmp_path / "c2"), tmp_path / "b"
    )
    names = [
        "SKILL.md",
        REFERENCE_FILE,
        "scripts/example.py",
        ".skvm/meta.json",
        ".skvm/source_map.json",
    ]
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_guard_rejects_a_lowering_that_drops_a_required_output(tmp_path):
    skill_dir = write_skill(tmp_path, "word-freq", FREQ_SKILL)
    skill = load_skill(skill_dir)
    result = compile_skill(skill, weak_local())
    lowered = result.artifacts["lower"].skill
    assert lowering_guard(skill, lowered, budget=True) == []
    dropped = lowered.model_copy(
        update={
            "text": lowered.text.replace(
                "A JSON object from word to count, keys sorted, at most 10 words.\n", ""
            )
        }
    )
    violations = lowering_guard(skill, dropped, budget=True)
    assert violations and "A JSON object from word" in violations[0]


def test_a_prose_only_skill_is_left_as_written_for_a_weak_target(tmp_path):
    skill_dir = write_skill(
        tmp_path,
        "tidy-notes",
        """
        # Tidy notes

        1. Read every file in `notes/`.
        2. Merge duplicate lines and write `tidy.txt`, sorted.
        3. Compute the total number of lines and write it to `count.txt`.
        """,
    )
    skill = load_skill(skill_dir)
    result = compile_skill(skill, weak_local())
    assert result.variant.text == skill.source and not result.variant.lowered
    assert "no script" in result.artifacts["lower"].reason


def test_a_lowering_longer_than_the_original_is_not_used(tmp_path):
    skill_dir = write_skill(
        tmp_path,
        "tiny-merge",
        """
        # Tiny merge

        Run `python3 scripts/merge_records.py people.jsonl --key id --keep-last --out merged.json`.
        """,
        {"scripts/merge_records.py": MERGE_SCRIPT},
    )
    skill = load_skill(skill_dir)
    result = compile_skill(skill, weak_local())
    assert result.variant.text == skill.source and not result.variant.lowered
    assert "too long" in result.artifacts["lower"].reason


@pytest.mark.parametrize("tcp", [weak_local(), weak_api()])
def test_a_strong_enough_target_gets_no_lowering(tmp_path, tcp):
    skill_dir = write_skill(tmp_path, "word-freq", FREQ_SKILL)
    strong = tcp.model_copy(update={"capabilities": {p: "L3" for p in WEAK}})
    result = compile_skill(load_skill(skill_dir), strong)
    assert not result.variant.lowered
    assert "meets" in result.artifacts["lower"].reason


async def test_a_variant_env_setup_runs_in_the_sandbox_before_the_agent(tmp_path):
    from skvm_core.run.runner import run_env_setup
    from skvm_core.store.workspace import Workspace

    workspace = Workspace(tmp_path / "ws")  # a variant is one the compiler wrote there
    variant = write_skill(workspace.root / "variants", "with-env", "# With env\n\nDo the thing.\n")
    (variant / ".skvm").mkdir()
    (variant / ".skvm" / "env-setup.sh").write_text("echo ready > env-ran.txt\necho $HOME\n")
    work = tmp_path / "work"
    work.mkdir()
    assert await run_env_setup(load_skill(variant), work, workspace) == ""
    assert (work / "env-ran.txt").read_text() == "ready\n"  # ran in the work folder
    (variant / ".skvm" / "env-setup.sh").write_text("echo 'sqlite3 missing' >&2\nexit 1\n")
    note = await run_env_setup(load_skill(variant), work, workspace)
    assert "failed (exit 1)" in note and "sqlite3 missing" in note
    plain = load_skill(write_skill(tmp_path, "plain", "# Plain\n\nx\n"))
    assert await run_env_setup(plain, work, workspace) == ""


def _all_l3(**levels: str) -> TCP:
    from skvm_core.catalog import load_catalog

    capabilities = {p: "L3" for p in load_catalog().ids()}
    return TCP(model="openai/strong", profiledAt="now", capabilities={**capabilities, **levels})


def test_concurrency_advice_only_for_a_target_that_batches_calls():
    skill = load_skill(Path(__file__).resolve().parent.parent / "sample_skills" / "release-notes")
    batching = compile_skill(skill, _all_l3()).variant.text
    serial = compile_skill(skill, _all_l3(**{"tool.call.batch": "L0"})).variant.text
    assert "Compiled note (concurrency" in batching
    assert "Compiled note (concurrency" not in serial
    assert "Read one file at a time" in serial  # its own note, which the advice would contradict


def test_no_advice_addressed_to_the_author_reaches_the_model():
    from skvm_core.catalog import LEVELS, load_catalog

    catalog = load_catalog()
    advice = {
        text
        for pid in catalog.ids()
        for level in LEVELS
        if (text := catalog.get(pid).degradation(level))
    }
    root = Path(__file__).resolve().parent.parent / "sample_skills"
    targets = [
        _all_l3(**{p: "L1" for p in ("gen.regex", "follow.format", "tool.call.batch")}),
        weak_api(),
    ]
    for name in ("csv-report", "invoice-batch", "log-triage", "release-notes", "sql-inventory"):
        for tcp in targets:
            text = compile_skill(load_skill(root / name), tcp).variant.text
            assert not [a for a in advice if a in text], (name, tcp.model)


PROSE_SKILL = """
    # Line report

    Count the lines of the input text file and write the total to `count.txt`.

    ## Background

    The operations team tracks how long their incident notes grow over a shift. Each note
    is a plain text file; blank lines count as lines too. The count is written as a bare
    number with no other text so that other tools can read it back without parsing.
    Older versions of this report also listed the longest line and the number of words;
    those figures moved to a separate dashboard and are no longer part of the report,
    so nothing but the count is written here.

    ## Output format

    `count.txt` holds one integer and a newline.
"""

GOOD_SCRIPT = """import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--input", required=True, help="text file to count")
parser.add_argument("--count", required=True, help="file to write the count to")
args = parser.parse_args()
count = sum(1 for _ in open(args.input))
open(args.count, "w").write(f"{count}\\n")
print(f"wrote {args.count}")
"""
EXAMPLE_FILES = "```file:examples/input.txt\none\n\ntwo\n```"


def synthesis_model(scripts: list[str]):
    """A scripted compiler model: its analysis, example inputs, then the scripts in turn."""
    from skvm_core.llm import ScriptedModel, ScriptedTurn

    queue = iter(scripts)

    def answer(messages, tools):
        prompt = messages[0]["content"]
        if "small test input files" in prompt:
            return ScriptedTurn(text=EXAMPLE_FILES)
        if "one Python 3 script" in prompt:
            return ScriptedTurn(text=f"```python\n{next(queue)}```")
        return ScriptedTurn(text='{"requirements": []}')

    return ScriptedModel(answer)


def test_a_compiler_model_writes_the_missing_script_and_it_is_verified_first(tmp_path):
    from skvm_core.llm import register_scripted

    skill = load_skill(write_skill(tmp_path, "line-report", PROSE_SKILL))
    broken = GOOD_SCRIPT.replace("open(args.input)", "open(args.missing)")
    # Each candidate fails once, gets its error back, then passes; two agreeing decide it.
    model = synthesis_model([broken, GOOD_SCRIPT] * 4)
    result = compile_skill(skill, weak_local(), compiler_model=register_scripted(model))
    repairs = [r for r in model.requests if "failed" in r[-1]["content"]]
    assert len(repairs) == 2 and "AttributeError" in repairs[0][-1]["content"]
    variant = result.variant
    assert variant.lowered and variant.guard_violations == []
    assert variant.files["scripts/line-report.py"].startswith("import argparse")
    assert (
        "python3 scripts/line-report.py --input examples/input.txt --count out/count.txt"
        in variant.text
    )
    assert "`count.txt` holds one integer and a newline." in variant.text
    assert result.artifacts["lower"].synthesis.agreement == (2, 2)
    # The script runs on a task's own file.
    work = tmp_path / "work"
    (work / "scripts").mkdir(parents=True)
    (work / "scripts" / "line-report.py").write_text(variant.files["scripts/line-report.py"])
    (work / "log.txt").write_text("a\n\nb\nc\n")
    ran = run_here("python3 scripts/line-report.py --input log.txt --count n.txt", work)
    assert ran.returncode == 0 and (work / "n.txt").read_text() == "4\n"


def test_a_script_that_never_passes_is_never_offered(tmp_path):
    from skvm_core.llm import register_scripted

    skill = load_skill(write_skill(tmp_path, "line-report", PROSE_SKILL))
    broken = GOOD_SCRIPT.replace("open(args.input)", "open(args.missing)")
    model = synthesis_model([broken] * 8)
    result = compile_skill(skill, weak_local(), compiler_model=register_scripted(model))
    assert result.variant.text == skill.source and not result.variant.lowered
    reason = result.artifacts["lower"].reason
    assert "none of the 4 candidate scripts met the skill's contract" in reason


SUBCOMMAND_SCRIPT = """import argparse, json, os, sys
parser = argparse.ArgumentParser()
sub = parser.add_subparsers(dest="command", required=True)
init = sub.add_parser("init")
init.add_argument("--path", required=True)
add = sub.add_parser("add")
add.add_argument("--path", required=True)
add.add_argument("--item", required=True)
report = sub.add_parser("report")
report.add_argument("--path", required=True)
report.add_argument("--out", required=True)
args = parser.parse_args()
if args.command == "init":
    if os.path.exists(args.path):
        sys.exit("error: exists")
    json.dump([], open(args.path, "w"))
elif args.command == "add":
    items = json.load(open(args.path))
    json.dump(items + [args.item], open(args.path, "w"))
else:
    open(args.out, "w").write("\\\\n".join(json.load(open(args.path))) + "\\\\n")
"""

SUBCOMMAND_SKILL = """
    # Item store

    Keep a list of items with `scripts/store.py`; never edit the store by hand.

    Create the store, add items, then write the report:

    ```bash
    python3 scripts/store.py init --path store.json
    python3 scripts/store.py add --path store.json --item apples
    python3 scripts/store.py report --path store.json --out items.txt
    ```

    ## Rules

    - One item per `add` call. Items keep the case the task gives.
    - The report lists items in the order they were added.
"""


def test_a_subcommand_cli_keeps_its_required_options_and_every_call(tmp_path):
    skill_dir = write_skill(
        tmp_path, "item-store", SUBCOMMAND_SKILL, {"scripts/store.py": SUBCOMMAND_SCRIPT}
    )
    result, _variant = variant_for(skill_dir, weak_local(), tmp_path / "variant")
    text = result.variant.text
    assert result.variant.lowered and result.variant.guard_violations == []
    # Each call verified (in order: add needs the store init made), each with its options.
    assert "`python3 scripts/store.py init --path store.json`" in text
    assert "`python3 scripts/store.py add --path store.json --item apples`" in text
    assert "`python3 scripts/store.py report --path store.json --out items.txt`" in text
    assert "in this order" in text
    assert "- One item per `add` call. Items keep the case the task gives." in text  # rules kept


def test_a_rules_list_keeps_its_other_rules_when_one_names_the_script(tmp_path):
    body = SUBCOMMAND_SKILL.replace(
        "    - One item per `add` call.",
        "    - Run `scripts/store.py report` last.\n    - One item per `add` call.",
    )
    skill_dir = write_skill(tmp_path, "item-store", body, {"scripts/store.py": SUBCOMMAND_SCRIPT})
    result, _variant = variant_for(skill_dir, weak_local(), tmp_path / "variant")
    text = result.variant.text
    assert result.variant.lowered and result.variant.guard_violations == []
    assert "- One item per `add` call. Items keep the case the task gives." in text
    assert "- The report lists items in the order they were added." in text
    assert any("scripts/store.py report` last" in r for r in result.variant.replaced)


HEREDOC_SKILL = """
    # Level counts

    Count log lines per level. The log looks like this:

    ```text
    2026-01-02 ERROR disk full
    2026-01-02 INFO started
    ```

    ## Run this

    Copy the block into the shell, changing only the settings at the top:

    - `LOG`: the log file the task names;
    - `OUT`: the JSON file to write.

    ```bash
    python3 - <<'PY'
    import json
    LOG = "app.log"
    OUT = "levels.json"
    counts = {}
    for line in open(LOG):
        parts = line.split()
        if len(parts) > 1:
            counts[parts[1]] = counts.get(parts[1], 0) + 1
    json.dump(counts, open(OUT, "w"), sort_keys=True)
    PY
    ```

    ## Rules

    - Lines with fewer than two words are skipped.
"""


def test_here_document_python_is_lowered_with_its_settings_as_options(tmp_path):
    skill_dir = write_skill(tmp_path, "level-counts", HEREDOC_SKILL)
    result, variant = variant_for(skill_dir, weak_local(), tmp_path / "variant")
    text = result.variant.text
    assert result.variant.lowered and result.variant.guard_violations == []
    assert "python3 scripts/run-this.py --out levels.json --log app.log" in text
    assert "`--log`: the log file the task names" in text  # the skill's words bind it
    assert "- Lines with fewer than two words are skipped." in text
    work = tmp_path / "work"
    (work / "scripts").mkdir(parents=True)
    (work / "scripts" / "run-this.py").write_bytes(
        (variant / "scripts" / "run-this.py").read_bytes()
    )
    (work / "web.log").write_text("d1 WARN slow\nd1 WARN slow again\nnoise\nd2 INFO ok\n")
    ran = run_here("python3 scripts/run-this.py --log web.log --out n.json", work)
    assert ran.returncode == 0 and json.loads((work / "n.json").read_text()) == {
        "INFO": 1,
        "WARN": 2,
    }


UV_SKILL = """
    # Column sums

    Sum one column of a CSV with the bundled tool:

    ```bash
    uv run scripts/colsum.py sales.csv --column amount --out total.txt
    ```

    ## How

    1. Open the CSV and find the column the task asks about: its header names every
       column, and the amounts may carry a currency sign that the tool strips for you.
    2. Run the tool on that column, with the output file the task wants; when the task
       names several columns, run it once per column, each with its own output file.
    3. Open the output file, read the total and give it in your reply, together with
       the name of the column it belongs to and the number of rows that were summed.
"""
UV_SCRIPT = """
    # /// script
    # requires-python = ">=3.10"
    # dependencies = []
    # ///
    import argparse, csv

    parser = argparse.ArgumentParser()
    parser.add_argument("file", help="the CSV to read")
    parser.add_argument("--column", required=True, help="the column the task names")
    parser.add_argument("--out", required=True, help="file to write the total to")
    args = parser.parse_args()
    total = sum(float(row[args.column]) for row in csv.DictReader(open(args.file)))
    open(args.out, "w").write(f"{total:.2f}\\n")
"""
NODE_SKILL = """
    # Key listing

    List the top-level keys of a JSON document, sorted:

    ```bash
    node scripts/keys.mjs config.json --out keys.txt
    ```

    ## How

    1. Read the document first and see whether it is one object: the tool lists the keys
       of the outermost object only, so nested keys never appear in its output file.
    2. Run the tool on the document, with the output file the task wants; when the task
       asks about several documents, run it once for each, with an output file per document.
    3. Open the output file and give the keys in your reply, one per line, as written.
"""
NODE_SCRIPT = """
    import { readFileSync, writeFileSync } from "node:fs";
    const args = process.argv.slice(2);
    if (args.includes("--help")) {
      console.log("usage: keys.mjs FILE --out OUT");
      process.exit(0);
    }
    const out = args[args.indexOf("--out") + 1];
    const data = JSON.parse(readFileSync(args[0], "utf8"));
    writeFileSync(out, Object.keys(data).sort().join("\\n") + "\\n");
"""


def test_a_uv_run_script_is_verified_and_shown_with_the_interpreter_it_ran_on(tmp_path):
    skill_dir = write_skill(
        tmp_path,
        "column-sums",
        UV_SKILL,
        {"scripts/colsum.py": UV_SCRIPT, "sales.csv": "item,amount\na,1.5\nb,2\n"},
    )
    result, _variant = variant_for(skill_dir, weak_local(), tmp_path / "variant")
    text = result.variant.text
    assert result.variant.lowered and result.variant.guard_violations == []
    assert "python3 scripts/colsum.py sales.csv --column amount --out total.txt" in text
    assert "uv run" not in text.split("reference/skill-original.md")[0]
    helps = result.artifacts["executable"]
    assert helps[0].example_passed


def test_a_node_script_is_run_by_node_and_verified(tmp_path):
    skill_dir = write_skill(
        tmp_path,
        "key-listing",
        NODE_SKILL,
        {"scripts/keys.mjs": NODE_SCRIPT, "config.json": '{"b": 1, "a": 2}'},
    )
    result, _variant = variant_for(skill_dir, weak_local(), tmp_path / "variant")
    helps = result.artifacts["executable"]
    assert [h.runner for h in helps] == ["node"] and helps[0].example_passed
    assert result.variant.guard_violations == []
    assert "node scripts/keys.mjs config.json --out keys.txt" in result.variant.text
