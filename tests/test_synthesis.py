"""The skill's contract and verified synthesis: scripts are offered only when they meet the
contract and independent candidates agree. Control flow with a scripted compiler model; the
real 1.5B in the `local_model` test at the end."""

import itertools
import json

import pytest

from skvm_core.compile import compile_skill
from skvm_core.compile.contract import check_outputs, extract_contract, line_pattern
from skvm_core.compile.synthesis import file_options, skeleton, synthesise
from skvm_core.llm import ScriptedModel, ScriptedTurn, register_scripted
from skvm_core.profile.store import BUNDLED
from skvm_core.profile.tcp import load_tcp
from skvm_core.skill import load_skill

# A prose-only skill made here: no script, no file names (the task names them).
PROSE_SKILL = """---
name: shelf-tally
description: Tally the books on each shelf from a scanner export and write a CSV. Use when asked how many books each shelf holds.
---

# Shelf tally

Count with code, never by reading.

## Input

One scan per line, a shelf code and an ISBN separated by a colon:

```text
A3: 978-0-14-044913-6
B1: 978-0-19-953556-9
```

- Skip blank lines and lines starting with `#`.
- Shelf codes are case-insensitive: write them in upper case.

## Output

A CSV file, named by the task, with the header `shelf,books`, one row per shelf, sorted by shelf.

## Method

1. Look at the first lines of the export to confirm the format.
2. Write a Python script that parses the lines, counts the scans per shelf and writes the CSV.
3. Run it and check the output.
"""

GOOD = """import argparse, collections, csv
parser = argparse.ArgumentParser()
parser.add_argument("--input", required=True)
parser.add_argument("--output", required=True)
args = parser.parse_args()
counts = collections.Counter()
for line in open(args.input):
    line = line.strip()
    if not line or line.startswith("#") or ":" not in line:
        continue
    counts[line.split(":")[0].strip().upper()] += 1
with open(args.output, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["shelf", "books"])
    for shelf in sorted(counts):
        w.writerow([shelf, counts[shelf]])
print("wrote", args.output)
"""
# Exits 0 and writes a file, but not with the header the skill states.
WRONG_HEADER = GOOD.replace('["shelf", "books"]', '["shelf", "count"]')
# Meets the contract but counts the comment lines too: a different answer.
COUNTS_COMMENTS = GOOD.replace(' or line.startswith("#")', "")
EXAMPLE = "```file:examples/input.txt\nA3: 978-0-14-044913-6\n# moved: 978-0-00-000000-0\na3: 978-0-19-953556-9\nB1: 978-0-19-953556-9\n```"


def compiler(scripts: list[str]) -> str:
    """A scripted compiler model: example inputs first, then the given scripts in turn
    (a repair request gets the next one too)."""
    queue = itertools.cycle(scripts)

    def answer(messages, tools):
        if "small test input files" in messages[0]["content"]:
            return ScriptedTurn(text=EXAMPLE)
        return ScriptedTurn(text=f"```python\n{next(queue)}```")

    return register_scripted(ScriptedModel(answer))


@pytest.fixture
def prose_skill(tmp_path):
    folder = tmp_path / "shelf-tally"
    folder.mkdir()
    (folder / "SKILL.md").write_text(PROSE_SKILL)
    return load_skill(folder)


def test_contract_reads_shapes_rules_and_cites_lines(prose_skill):
    contract = extract_contract(prose_skill)
    [source], [output] = contract.inputs, contract.outputs
    assert source.path is None and source.format == "lines"
    assert source.line_pattern and all(
        __import__("re").match(source.line_pattern, line) for line in source.line_example
    )
    assert output.format == "csv" and output.csv_header == ["shelf", "books"]
    rules = [r.text for r in contract.rules]
    assert any("Skip blank lines" in r for r in rules)
    lines = prose_skill.source.splitlines()
    for rule in contract.rules:
        assert rule.text in lines[rule.cited.lines[0] - 1]  # every item cites its own line


def test_contract_check_catches_what_exit_0_does_not(prose_skill, tmp_path):
    contract = extract_contract(prose_skill)
    (tmp_path / "out.csv").write_text("shelf,count\nA3,2\n")
    assert "header" in check_outputs(contract, tmp_path, {"output 1": "out.csv"})[0]
    (tmp_path / "out.csv").write_text("shelf,books\nA3,2\n")
    assert check_outputs(contract, tmp_path, {"output 1": "out.csv"}) == []
    assert "not written" in check_outputs(contract, tmp_path, {"output 1": "none.csv"})[0]


def test_json_shape_and_rounding_are_checked(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "SKILL.md").write_text(
        "---\nname: s\ndescription: d.\n---\n\n# S\n\nRound every figure to 2 decimal places.\n\n"
        '## Output\n\nA JSON object mapping each group to its total, like `{"north": 10.5}`.\n'
    )
    contract = extract_contract(load_skill(folder))
    check = lambda value: check_outputs(contract, tmp_path, {"output 1": "o.json"})  # noqa: E731
    (tmp_path / "o.json").write_text(json.dumps({"counts": {"north": 10.5}}))
    assert "the skill shows a number" in check(None)[0]  # nested under an invented key
    (tmp_path / "o.json").write_text(json.dumps({"north": 10.555}))
    assert "decimal places" in check(None)[0]
    (tmp_path / "o.json").write_text(json.dumps({"north": 10.56, "south": 3}))
    assert check(None) == []


def test_line_pattern_generalises_example_lines():
    pattern = line_pattern(["2026-01-02 ERROR api: timeout", "2026-01-03 INFO web: started fine"])
    assert pattern is not None
    assert __import__("re").match(pattern, "2027-11-30 WARN db: slow query here")
    assert not __import__("re").match(pattern, "just words")


def test_a_script_that_exits_0_but_breaks_the_contract_is_never_offered(prose_skill):
    model = compiler([WRONG_HEADER])
    result = synthesise(prose_skill, extract_contract(prose_skill), model, candidates=3)
    assert not result.offered and result.help() is None
    assert all(not c.passed for c in result.candidates)
    assert "header" in result.reason and "contract" in result.reason


def test_disagreeing_candidates_are_not_offered_below_the_threshold(prose_skill):
    lower_case = GOOD.replace("upper()", "lower()")
    model = compiler(
        [GOOD, COUNTS_COMMENTS, lower_case, COUNTS_COMMENTS.replace("upper()", "lower()")]
    )
    result = synthesise(
        prose_skill, extract_contract(prose_skill), model, candidates=4, threshold=0.75
    )
    assert all(c.passed for c in result.candidates)  # each meets the contract on its own
    assert not result.offered and result.agreement[0] < 3
    assert "disagree" in result.reason


def test_agreeing_candidates_are_offered_with_their_agreement(prose_skill):
    model = compiler([GOOD, COUNTS_COMMENTS, GOOD, GOOD])
    result = synthesise(prose_skill, extract_contract(prose_skill), model, candidates=4)
    # After three, no other group could overtake the leader: the fourth is not asked for.
    assert result.offered and result.agreement == (2, 3) and len(result.candidates) == 3
    assert result.script == GOOD
    assert (
        result.command
        == "python3 scripts/shelf-tally.py --input examples/input.txt --output out/output.csv"
    )


def test_a_failed_candidate_gets_its_error_back_once(prose_skill):
    seen = []

    def answer(messages, tools):
        if "small test input files" in messages[0]["content"]:
            return ScriptedTurn(text=EXAMPLE)
        seen.append(messages[-1]["content"])
        script = WRONG_HEADER if len(messages) == 1 else GOOD
        return ScriptedTurn(text=f"```python\n{script}```")

    model = register_scripted(ScriptedModel(answer))
    result = synthesise(prose_skill, extract_contract(prose_skill), model, candidates=2)
    assert result.offered and all(c.repaired for c in result.candidates)
    assert any("header is shelf,count" in s for s in seen)


CRASHES = GOOD.replace(
    "args = parser.parse_args()", "args = parser.parse_args()\nshelf, code = 'A3 978'.split(':')"
)


def test_a_crash_goes_back_with_the_script_line_it_happened_on_and_the_prompt_shows_the_examples(
    prose_skill,
):
    seen = []

    def answer(messages, tools):
        if "small test input files" in messages[0]["content"]:
            return ScriptedTurn(text=EXAMPLE)
        seen.append(messages)
        script = CRASHES if len(messages) == 1 else GOOD
        return ScriptedTurn(text=f"```python\n{script}```")

    model = register_scripted(ScriptedModel(answer))
    result = synthesise(prose_skill, extract_contract(prose_skill), model, candidates=2)
    assert result.offered
    repair = seen[1][-1]["content"]
    line = CRASHES.splitlines().index("shelf, code = 'A3 978'.split(':')") + 1
    assert f"at line {line} (`shelf, code = 'A3 978'.split(':')`)" in repair
    assert "ValueError: not enough values to unpack" in repair
    # The candidate prompt carries the example input's own lines to parse.
    assert "examples/input.txt:\n```text\nA3: 978-0-14-044913-6" in seen[0][0]["content"]


def test_a_prose_skill_compiles_to_its_verified_script_deterministically(prose_skill, tmp_path):
    tcp = load_tcp(BUNDLED / "bare-agent" / "local--qwen2.5-coder-0.5b" / "latest.json")
    texts = []
    for run in range(2):
        model = compiler([GOOD])
        result = compile_skill(
            prose_skill, tcp, compiler_model=model, cache_dir=tmp_path / f"c{run}"
        )
        assert result.variant.lowered, result.artifacts["lower"].reason
        texts.append((result.variant.text, result.variant.files["scripts/shelf-tally.py"]))
    assert texts[0] == texts[1]
    text = texts[0][0]
    assert "python3 scripts/shelf-tally.py" in text
    assert "Skip blank lines and lines starting with `#`." in text  # the rules survive
    assert result.variant.guard_violations == []
    synthesis = result.artifacts["lower"].synthesis
    assert synthesis.agreement == (2, 2) and synthesis.offered  # two agree: decided early


def test_synthesis_is_reused_when_an_edit_changes_neither_contract_nor_procedure(
    prose_skill, tmp_path
):
    tcp = load_tcp(BUNDLED / "bare-agent" / "local--qwen2.5-coder-0.5b" / "latest.json")
    asked = []

    def answer(messages, tools):
        prompt = messages[0]["content"]
        if "small test input files" in prompt:
            asked.append("examples")
            return ScriptedTurn(text=EXAMPLE)
        if "one Python 3 script" in prompt:
            asked.append("script")
        return ScriptedTurn(text=f"```python\n{GOOD}```")

    model = register_scripted(ScriptedModel(answer))
    compile_skill(prose_skill, tcp, compiler_model=model, cache_dir=tmp_path / "cache")
    first = len(asked)
    skill_md = prose_skill.root / "SKILL.md"
    skill_md.write_text(
        PROSE_SKILL.replace("Count with code, never by reading.", "Count with code.")
    )
    compile_skill(
        load_skill(prose_skill.root), tcp, compiler_model=model, cache_dir=tmp_path / "cache"
    )
    assert first > 0 and len(asked) == first  # no model call for an unrelated prose edit


@pytest.mark.local_model
def test_the_embedded_1_5b_synthesises_a_verified_script_for_a_prose_skill(prose_skill):
    """The real compiler model, the real sandbox: whatever it writes is offered only when
    it met the contract and the candidates agreed; an offered script then does the job on
    a file it never saw."""
    import subprocess

    result = synthesise(
        prose_skill, extract_contract(prose_skill), "local/qwen2.5-coder-1.5b", candidates=3
    )
    assert len(result.candidates) == 3 and result.tokens > 0
    if not result.offered:  # a disagreement or a contract break is recorded, never offered
        assert result.help() is None and result.reason
        pytest.skip(f"the 1.5B's candidates were not offered here: {result.reason}")
    assert result.agreement[0] >= 2
    work = prose_skill.root.parent / "held-out"
    work.mkdir()
    (work / "tool.py").write_text(result.script)
    (work / "scans.txt").write_text("c2: 1\n\n# note: x\nC2: 2\nd4: 3\n")
    done = subprocess.run(
        ["python3", "tool.py", "--input", "scans.txt", "--output", "tally.csv"],
        cwd=work, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (work / "tally.csv").read_text().splitlines()[0] == "shelf,books"


def test_standard_library_imports_a_candidate_forgot_are_added_and_nothing_else_changes():
    from skvm_core.compile.synthesis import with_missing_imports

    script = "words = re.findall('[a-z]+', 'a b')\nprint(Counter(words), json.dumps(1))\n"
    fixed = with_missing_imports(script)
    assert fixed.endswith(script)
    assert fixed.splitlines()[:3] == ["from collections import Counter", "import json", "import re"]
    defined = "import re\nfrom collections import Counter\ndef f(json):\n    return json\n" + script
    assert with_missing_imports(defined) == defined


@pytest.mark.parametrize(
    ("sentence", "name", "default"),
    [
        ("The request specifies the cutoff age; when the task gives none, use 30 days.", "cutoff-age", "30"),
        ("- `MARGIN`: the tolerance in metres (5 unless the task says otherwise);", "margin", "5"),
        ("Flag every reading above the alarm level the user sets (defaults to 80).", "alarm-level", "80"),
        ("List the first K entries, K given by the task.", "first", None),
        ("Take the currency and exchange rate from the task.", "currency", None),
    ],
)  # fmt: skip
def test_values_the_task_gives_get_option_names_and_stated_defaults(sentence, name, default):
    from skvm_core.compile.task_values import task_values

    values = {v.name: v for v in task_values(["Some context.", sentence], 1, set())}
    assert name in values, values
    assert values[name].default == default
    assert values[name].lines == (2, 2)


def test_a_value_sentence_wrapped_over_lines_is_read_whole_and_files_are_not_values():
    from skvm_core.compile.task_values import task_values

    lines = [
        "A CSV file, named by the task, with the header `a,b`.",
        "Drop rows older than the retention window. The task gives the retention",
        "window; if it gives none, use 7 days.",
        "```text",
        "the task gives the ignored value",
        "```",
    ]
    values = task_values(lines, 10, skip={3, 4, 5})
    assert [(v.name, v.default, v.kind, v.lines) for v in values] == [
        ("retention-window", "7", "number", (11, 12))
    ]


VALUE_SKILL = PROSE_SKILL.replace(
    "one row per shelf, sorted by shelf.",
    "one row per shelf that holds at least the minimum the task gives (1 if it gives none), sorted by shelf.",
)
AT_LEAST = GOOD.replace(
    'parser.add_argument("--output", required=True)',
    'parser.add_argument("--output", required=True)\nparser.add_argument("--minimum", type=int, default=1)',
).replace(
    "for shelf in sorted(counts):",
    "for shelf in sorted(s for s in counts if counts[s] >= args.minimum):",
)


def test_a_value_the_task_gives_is_a_named_option_of_the_skeleton_and_the_verified_call(tmp_path):
    folder = tmp_path / "shelf-tally"
    folder.mkdir()
    (folder / "SKILL.md").write_text(VALUE_SKILL)
    skill = load_skill(folder)
    prompts = []

    def answer(messages, tools):
        if "small test input files" in messages[0]["content"]:
            return ScriptedTurn(text=EXAMPLE)
        prompts.append(messages[0]["content"])
        # The first candidate ignores the option: it cannot be called the way the skill needs.
        return ScriptedTurn(text=f"```python\n{GOOD if len(prompts) == 1 else AT_LEAST}```")

    result = synthesise(
        skill, extract_contract(skill), register_scripted(ScriptedModel(answer)), candidates=3
    )
    assert 'parser.add_argument("--minimum", type=int, default=1' in prompts[0]
    first = result.candidates[0]  # refused, then repaired with the refusal as feedback
    assert first.repaired and "--minimum" in first.problems[0]
    assert result.offered and result.command.endswith("--minimum 1")


REFERENCE_SKILL = """---
name: shelf-tally
description: Tally the books on each shelf from a scanner export and write a CSV. Use when asked how many books each shelf holds.
---

# Shelf tally

The whole procedure, with the formats of both files, is in
[references/how.md](references/how.md). Read it before you start.
"""
REFERENCE_DOC = (
    PROSE_SKILL.split("# Shelf tally", 1)[1]
    .replace("## Input", "## 1. Read the export")
    .replace("## Output", "## 2. Write the report")
)


def test_a_procedure_kept_in_a_reference_document_is_the_contract_and_the_prompt(tmp_path):
    folder = tmp_path / "shelf-tally"
    (folder / "references").mkdir(parents=True)
    (folder / "SKILL.md").write_text(REFERENCE_SKILL)
    (folder / "references" / "how.md").write_text(REFERENCE_DOC)
    skill = load_skill(folder)
    contract = extract_contract(skill)
    assert contract.computable
    assert contract.outputs[0].csv_header == ["shelf", "books"]
    assert contract.inputs[0].cited[0].file == "references/how.md"
    prompts = []

    def answer(messages, tools):
        prompts.append(messages[0]["content"])
        if "small test input files" in messages[0]["content"]:
            return ScriptedTurn(text=EXAMPLE)
        return ScriptedTurn(text=f"```python\n{GOOD}```")

    result = synthesise(skill, contract, register_scripted(ScriptedModel(answer)), candidates=2)
    assert result.offered
    assert all("Shelf codes are case-insensitive" in p for p in prompts)


def test_candidates_that_agree_only_on_ordinary_lines_are_told_apart_by_the_special_cases(
    prose_skill,
):
    ordinary = "```file:examples/input.txt\nA3: 978-0-14-044913-6\na3: 978-0-19-953556-9\nB1: 978-0-19-953556-9\n```"
    queue = itertools.cycle([GOOD, COUNTS_COMMENTS])

    def answer(messages, tools):
        prompt = messages[0]["content"]
        if "small test input files" in prompt:
            # The special-case set holds the comment line the skill says to skip.
            return ScriptedTurn(text=EXAMPLE if "tests the special cases" in prompt else ordinary)
        return ScriptedTurn(text=f"```python\n{next(queue)}```")

    result = synthesise(
        prose_skill,
        extract_contract(prose_skill),
        register_scripted(ScriptedModel(answer)),
        candidates=4,
        threshold=0.75,
    )
    assert result.edge_examples and all(c.passed for c in result.candidates)
    assert not result.offered and result.agreement == (2, 4)


def test_the_skeleton_states_each_output_header_beside_the_code_that_writes_it(prose_skill):
    contract = extract_contract(prose_skill)
    options = file_options(contract)
    text = skeleton(contract, options)
    output = next(o for o in options if o.shape.role == "output")
    attribute = "args." + output.flag.removeprefix("--").replace("-", "_")
    assert f"# {attribute}: a CSV file whose first row is exactly the header shelf,books" in text
    compile(text, "skeleton.py", "exec")  # still a script the model can start from


def test_a_repair_that_says_something_before_its_block_still_counts(prose_skill):
    def answer(messages, tools):
        if "small test input files" in messages[0]["content"]:
            return ScriptedTurn(text=EXAMPLE)
        if len(messages) == 1:
            return ScriptedTurn(text=f"```python\n{WRONG_HEADER}")  # stopped at its close
        return ScriptedTurn(text=f"Here is the fixed script:\n\n```python\n{GOOD}")

    model = register_scripted(ScriptedModel(answer))
    result = synthesise(prose_skill, extract_contract(prose_skill), model, candidates=2)
    assert result.offered and all(c.repaired and c.passed for c in result.candidates)
