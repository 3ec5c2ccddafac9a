"""The `skvm` command.

Start-up must stay fast (`skvm --help` well under half a second), so this module imports
only argparse at the top; each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from skvm_core.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE  # noqa: F401 (re-exported)

# skvm_core.harness.HARNESSES, spelled here so parsing a command imports no harness code
# (a test holds the two equal).
HARNESS_CHOICES = ("bare", "opencode", "codex", "claude-code", "pi")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skvm",
        description="Profile models, compile agent skills per model, run and benchmark them.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    catalog = commands.add_parser("catalog", help="list the 26 primitive capabilities")
    catalog.add_argument("--json", action="store_true", help="print as JSON")
    catalog.set_defaults(handler=_lazy("skvm_core.commands.info", "cmd_catalog"))

    config = commands.add_parser("config", help="show configuration")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = config_commands.add_parser(
        "show", help="print the effective configuration and its sources"
    )
    show.set_defaults(handler=_lazy("skvm_core.commands.info", "cmd_config_show"))

    doctor = commands.add_parser(
        "doctor", help="check Python, extras, local models, keys and sandbox"
    )
    doctor.set_defaults(handler=_lazy("skvm_core.commands.info", "cmd_doctor"))

    models = commands.add_parser("models", help="embedded local models")
    model_commands = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    listing = model_commands.add_parser("list", help="list the embedded models and their state")
    listing.set_defaults(handler=_lazy("skvm_core.commands.info", "cmd_models_list"))
    prepare = model_commands.add_parser("prepare", help="assemble and verify the local model files")
    prepare.add_argument("names", nargs="*", help="model names (default: all embedded models)")
    prepare.set_defaults(handler=_lazy("skvm_core.commands.info", "cmd_models_prepare"))

    ask = commands.add_parser("ask", help="send one prompt to a model and print the answer")
    ask.add_argument("prompt")
    ask.add_argument("--model", default="local/qwen2.5-coder-0.5b")
    ask.set_defaults(handler=_lazy("skvm_core.commands.info", "cmd_ask"))

    skill = commands.add_parser("skill", help="inspect skills")
    skill_commands = skill.add_subparsers(dest="skill_command", metavar="ACTION", required=True)
    check = skill_commands.add_parser("check", help="load and validate a skill folder")
    check.add_argument("folder")
    check.add_argument("--json", action="store_true", help="print the loaded skill as JSON")
    check.set_defaults(handler=_lazy("skvm_core.commands.info", "cmd_skill_check"))

    run = commands.add_parser("run", help="run a task or a prompt on a model, with a live trace")
    run.add_argument("--skill", help="skill folder (default: the task's own skill)")
    run.add_argument("--task", help="task.json or its folder")
    run.add_argument("--prompt", help="a prompt to run instead of a task")
    run.add_argument(
        "--model",
        required=True,
        help="model id, e.g. local/qwen2.5-coder-0.5b or scripted/turns.json",
    )
    run.add_argument("--skill-mode", choices=("inject", "discover"), default="inject")
    run.add_argument("--no-skill", action="store_true", help="run the task without any skill")
    run.add_argument("--keep", action="store_true", help="keep the work folder after the run")
    run.add_argument(
        "--workdir",
        help="with --prompt: run on a copy of this folder; the files the run created or changed are copied back only when it ends ok",
    )
    run.add_argument(
        "--save-task",
        action="store_true",
        help="with --workdir: save the run as a task of the skill, its outputs as the expected values",
    )
    run.add_argument(
        "--jit",
        action="store_true",
        help="under solidification: a promoted template does the task without the model, a candidate runs in the model's shadow",
    )
    _protocol_argument(run)
    _parallel_argument(run, "auto")
    _harness_argument(run)
    run.set_defaults(handler=_lazy("skvm_core.commands.run", "cmd_run"))

    optimize = commands.add_parser(
        "optimize", help="repair a skill for a target from its failures, round by round"
    )
    optimize.add_argument("--skill", help="skill folder")
    optimize.add_argument("--target", help="model id")
    optimize.add_argument(
        "--tasks", help="task folders (comma-separated); split into training and held-out"
    )
    optimize.add_argument(
        "--rounds", type=_count(10), default=2, help="repair rounds after the baseline"
    )
    optimize.add_argument("--runs", type=_count(20), default=2, help="runs per task and round")
    optimize.add_argument("--proposer", help="a model that may rewrite what the rules cannot fix")
    optimize.add_argument("--seed", type=int, default=0, help="the split's seed")
    optimize.add_argument("--resume", metavar="SESSION", help="continue an interrupted session")
    optimize.add_argument(
        "--description",
        action="store_true",
        help="rewrite the skill's description instead: trigger prompts split 60/40 (seeded), load rate"
        " minus false loads, the best on the held-out prompts proposed if it beats the original",
    )
    optimize.set_defaults(handler=_lazy("skvm_core.commands.optimize", "cmd_optimize"))

    triggers = commands.add_parser(
        "triggers", help="does the target load the skill when it should, and only then?"
    )
    triggers.add_argument("--skill", required=True, help="skill folder")
    triggers.add_argument("--target", required=True, help="model id (several: comma-separated)")
    triggers.add_argument(
        "--harness",
        action="append",
        choices=HARNESS_CHOICES,
        help="harness to offer the skill in (repeatable; default: bare, our agent in discover mode)",
    )
    triggers.add_argument(
        "--prompts",
        help='a JSON file: {"should_trigger": [...], "should_not_trigger": [...]} or skill-creator\'s'
        " trigger eval set (default: triggers.json beside the skill's tasks, else synthesised)",
    )
    triggers.add_argument("--runs", type=_count(20), default=1, help="runs per prompt")
    triggers.add_argument("--seed", type=int, default=0, help="sampling seed of the runs")
    triggers.add_argument(
        "--max-steps", type=_count(10), default=3, help="model turns a run may take (default 3)"
    )
    triggers.add_argument(
        "--out", help="records and report (default: <workspace>/triggers/<skill>); reruns resume"
    )
    triggers.set_defaults(handler=_lazy("skvm_core.commands.triggers", "cmd_triggers"))

    proposals = commands.add_parser("proposals", help="changes to variants, kept until reviewed")
    proposal_commands = proposals.add_subparsers(
        dest="proposals_command", metavar="ACTION", required=True
    )
    listed = proposal_commands.add_parser("list", help="every proposal with its status")
    listed.set_defaults(handler=_lazy("skvm_core.commands.optimize", "cmd_proposals_list"))
    for action, text in (
        ("show", "evidence, repairs, scores before and after, cost"),
        ("diff", "the change against the current variant"),
        ("accept", "make it the target's variant (earlier ones stay restorable)"),
        ("reject", "keep it on record as rejected"),
    ):
        command = proposal_commands.add_parser(action, help=text)
        command.add_argument("proposal", help="proposal id (or a unique prefix)")
        command.set_defaults(
            handler=_lazy("skvm_core.commands.optimize", f"cmd_proposals_{action}")
        )
    restore = proposal_commands.add_parser("restore", help="go back to an earlier accepted variant")
    restore.add_argument("--skill", required=True, help="a skill name or folder")
    restore.add_argument("--target", required=True)
    restore.add_argument(
        "--version", type=int, required=True, help="0 is the compiler's own variant"
    )
    restore.set_defaults(handler=_lazy("skvm_core.commands.optimize", "cmd_proposals_restore"))

    jit = commands.add_parser("jit", help="solidified templates per skill and target")
    jit_commands = jit.add_subparsers(dest="jit_command", metavar="ACTION", required=True)
    jit_list = jit_commands.add_parser("list", help="every template with its status")
    jit_list.add_argument("--skill", help="a skill name or folder")
    jit_list.add_argument("--target")
    jit_list.set_defaults(handler=_lazy("skvm_core.commands.jit", "cmd_jit_list"))
    jit_show = jit_commands.add_parser("show", help="one template: steps, parameters, trials")
    jit_show.add_argument("template", help="template id (or a unique prefix)")
    jit_show.add_argument("--target", help="the target, where several share the template")
    jit_show.set_defaults(handler=_lazy("skvm_core.commands.jit", "cmd_jit_show"))
    for action, text in (
        ("promote", "trust a template without shadow trials"),
        ("demote", "stop using a template"),
    ):
        command = jit_commands.add_parser(action, help=text)
        command.add_argument("template", help="template id (or a unique prefix)")
        command.add_argument("--target", help="the target, where several share the template")
        command.set_defaults(handler=_lazy("skvm_core.commands.jit", f"cmd_jit_{action}"))
    jit_harvest = jit_commands.add_parser(
        "harvest", help="make candidates from the stored passing runs of a skill"
    )
    jit_harvest.add_argument("--skill", required=True, help="skill folder")
    jit_harvest.add_argument("--target", required=True)
    jit_harvest.set_defaults(handler=_lazy("skvm_core.commands.jit", "cmd_jit_harvest"))
    jit_propose = jit_commands.add_parser(
        "propose", help="have a model write a candidate template from one task"
    )
    jit_propose.add_argument("--task", required=True, help="task.json or its folder")
    jit_propose.add_argument("--target", required=True, help="the target that will use it")
    jit_propose.add_argument("--model", required=True, help="the proposer (any model id)")
    jit_propose.add_argument("--skill", help="skill folder (default: the task's own skill)")
    jit_propose.set_defaults(handler=_lazy("skvm_core.commands.jit", "cmd_jit_propose"))
    jit_reset = jit_commands.add_parser(
        "reset", help="forget every template of a skill on a target"
    )
    jit_reset.add_argument("--skill", required=True, help="a skill name or folder")
    jit_reset.add_argument("--target", required=True)
    jit_reset.set_defaults(handler=_lazy("skvm_core.commands.jit", "cmd_jit_reset"))

    trace = commands.add_parser("trace", help="stored traces")
    trace_commands = trace.add_subparsers(dest="trace_command", metavar="ACTION", required=True)
    trace_show = trace_commands.add_parser("show", help="replay a stored trace into the live view")
    trace_show.add_argument("trace")
    trace_show.set_defaults(handler=_lazy("skvm_core.commands.run", "cmd_trace_show"))

    profile = commands.add_parser(
        "profile", help="profile a model on the 26 primitives, or show/import profiles"
    )
    profile.add_argument("--model", help="model id to profile")
    profile.add_argument("--primitives", help="comma-separated primitive ids (default: all 26)")
    profile.add_argument(
        "--instances", type=_count(50), default=3, help="instances per level (default 3)"
    )
    profile.add_argument("--concurrency", type=_count(64), default=1)
    _executor_argument(profile)
    profile.add_argument("--seed", type=int, default=0)
    profile.add_argument("--policy", choices=("strict", "majority"), default="strict")
    profile.add_argument(
        "--fast", action="store_true", help="stop a primitive at its first failing level"
    )
    profile.add_argument(
        "--resume", action="store_true", help="continue an interrupted run with the same settings"
    )
    _protocol_argument(profile)
    _harness_argument(profile)
    profile.set_defaults(handler=_lazy("skvm_core.commands.profile", "cmd_profile"))
    profile_commands = profile.add_subparsers(dest="profile_command", metavar="ACTION")
    profile_show = profile_commands.add_parser("show", help="print a profile (model id or file)")
    profile_show.add_argument("target")
    profile_show.set_defaults(handler=_lazy("skvm_core.commands.profile", "cmd_profile_show"))
    profile_import = profile_commands.add_parser(
        "import", help="import a TCP JSON file (e.g. a published profile)"
    )
    profile_import.add_argument("path")
    profile_import.set_defaults(handler=_lazy("skvm_core.commands.profile", "cmd_profile_import"))
    profile_list = profile_commands.add_parser("list", help="list known profiles")
    profile_list.set_defaults(handler=_lazy("skvm_core.commands.profile", "cmd_profile_list"))

    compile_ = commands.add_parser("compile", help="compile a skill for a target model")
    compile_.add_argument("--skill", required=True)
    compile_.add_argument(
        "--target", required=True, help="model id whose profile to compile against"
    )
    compile_.add_argument(
        "--profile", help="TCP file to use instead of the target's stored profile"
    )
    compile_.add_argument(
        "--passes",
        help="comma-separated passes (dependencies are added): analyze,gaps,rewrite,bind_env,parallelism",
    )
    compile_.add_argument(
        "--compiler-model",
        help="model that refines the analysis, rewrites and synthesises scripts (held to the guard);"
        " default: the configured synthesis model synthesises only; none: the static compiler",
    )
    compile_.add_argument(
        "--out", help="variant folder (default: in the workspace, keyed by skill hash and profile)"
    )
    compile_.add_argument(
        "--force",
        action="store_true",
        help="replace a non-empty --out folder that is not a variant (never a file or the skill)",
    )
    compile_.set_defaults(handler=_lazy("skvm_core.commands.compile", "cmd_compile"))

    explain = commands.add_parser(
        "explain", help="show a target's gaps for a skill, with the lines that cause them"
    )
    explain.add_argument("--skill", required=True)
    explain.add_argument("--target", required=True)
    explain.add_argument("--profile")
    explain.set_defaults(handler=_lazy("skvm_core.commands.compile", "cmd_explain"))

    diff = commands.add_parser("diff", help="diff a skill and a variant, or two variants")
    diff.add_argument("left")
    diff.add_argument("right")
    diff.set_defaults(handler=_lazy("skvm_core.commands.compile", "cmd_diff"))

    bench = commands.add_parser(
        "bench", help="run tasks × targets × conditions × repeats, with reports"
    )
    bench.add_argument(
        "--tasks", help="task folders, task.json files or folders of tasks (comma-separated)"
    )
    bench.add_argument(
        "--skill",
        help="without --tasks: the skill's tasks (hand-written, else synthesised from its contract)",
    )
    bench.add_argument("--targets", default="local/qwen2.5-coder-0.5b")
    bench.add_argument(
        "--conditions",
        default="no-skill,original,compiled",
        help="no-skill, original, compiled (the compiler's output), accepted (an accepted proposal, else compiled), solidified, compiled:<compiler model>, custom:<label>=<dir>; any may end in @<protocol>",
    )
    bench.add_argument("--runs", type=_count(100), default=1)
    bench.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="runs per task of the solidified condition before the measured ones, reported apart (default: 1 when it is benched)",
    )
    bench.add_argument(
        "--warmup-tasks",
        help="task folders the warm-up runs on instead of the measured tasks (learn on one set, measure on another)",
    )
    _protocol_argument(bench)
    _parallel_argument(bench, "off")
    _harness_argument(bench, many=True)
    bench.add_argument("--concurrency", type=_count(64), default=2)
    _executor_argument(bench)
    bench.add_argument(
        "--temperature",
        type=float,
        default=0.7,
        help="sampling temperature of the runs (each repeat is seeded by its index)",
    )
    bench.add_argument("--resume", metavar="SESSION", help="continue an interrupted bench session")
    bench.set_defaults(handler=_lazy("skvm_core.commands.bench", "cmd_bench"))
    bench_commands = bench.add_subparsers(dest="bench_command", metavar="ACTION")
    bench_report = bench_commands.add_parser(
        "report", help="rebuild and print a session's report (several sessions: one merged report)"
    )
    bench_report.add_argument("session", nargs="+")
    bench_report.add_argument("--markdown", action="store_true")
    bench_report.add_argument(
        "--out", help="write report.md and report.json here (default: the session folder)"
    )
    bench_report.set_defaults(handler=_lazy("skvm_core.commands.bench", "cmd_bench_report"))
    bench_list = bench_commands.add_parser("list", help="bench sessions in the workspace")
    bench_list.set_defaults(handler=_lazy("skvm_core.commands.bench", "cmd_bench_list"))
    bench_compare = bench_commands.add_parser("compare", help="compare two bench sessions")
    bench_compare.add_argument("a")
    bench_compare.add_argument("b")
    bench_compare.set_defaults(handler=_lazy("skvm_core.commands.bench", "cmd_bench_compare"))
    bench_import = bench_commands.add_parser(
        "import",
        help="import PinchBench or SkillsBench tasks, or a skill's skill-creator evals, as native tasks",
    )
    bench_import.add_argument("path")
    bench_import.add_argument(
        "--out", help="folder for the imported tasks (default: <workspace>/imported-tasks)"
    )
    bench_import.set_defaults(handler=_lazy("skvm_core.commands.bench", "cmd_bench_import"))
    export_evals = bench_commands.add_parser(
        "export-evals", help="write tasks as a skill-creator evals.json"
    )
    export_evals.add_argument("tasks", help="task folders, or folders of tasks (comma-separated)")
    export_evals.add_argument("--skill", required=True, help="the skill_name to record")
    export_evals.add_argument("--out", required=True, help="the evals.json to write")
    export_evals.add_argument("--force", action="store_true", help="replace an existing file")
    export_evals.set_defaults(handler=_lazy("skvm_core.commands.bench", "cmd_bench_export_evals"))

    task = commands.add_parser("task", help="write, check and list a skill's tasks")
    task_commands = task.add_subparsers(dest="task_command", metavar="ACTION", required=True)
    task_new = task_commands.add_parser("new", help="write a task for a skill")
    task_new.add_argument("--skill", required=True, help="the skill folder")
    task_new.add_argument("--prompt", required=True, help="what the model is asked to do")
    task_new.add_argument(
        "--file", action="append", help="an input file, copied into the task (repeatable)"
    )
    task_new.add_argument(
        "--expect",
        action="append",
        help='an expectation, e.g. "report.json exists", "out.csv has the header `a,b`", '
        "or any sentence for a judge model (repeatable)",
    )
    task_new.add_argument("--id", help="the task id (default: <skill>-<n>)")
    task_new.set_defaults(handler=_lazy("skvm_core.commands.task", "cmd_task_new"))
    task_check = task_commands.add_parser("check", help="say what is wrong with task folders")
    task_check.add_argument("paths", nargs="+")
    task_check.set_defaults(handler=_lazy("skvm_core.commands.task", "cmd_task_check"))
    task_synthesise = task_commands.add_parser(
        "synthesise",
        help="build tasks from the skill's contract (its example inputs, checks on each output, "
        "and the outputs synthesis agreed on); kept apart and marked synthetic",
    )
    task_synthesise.add_argument("--skill", required=True, help="the skill folder")
    task_synthesise.add_argument(
        "--synthesis-model",
        help="whose stored synthesis gives the inputs and expected outputs (default: the configured one)",
    )
    task_synthesise.add_argument(
        "--run-synthesis",
        action="store_true",
        help="synthesise now when nothing is stored (minutes on a local model)",
    )
    task_synthesise.set_defaults(handler=_lazy("skvm_core.commands.task", "cmd_task_synthesise"))
    task_list = task_commands.add_parser("list", help="the tasks that name a skill")
    task_list.add_argument("--skill", required=True)
    task_list.set_defaults(handler=_lazy("skvm_core.commands.task", "cmd_task_list"))

    check = commands.add_parser(
        "check", help="CI gate: fail when a skill's pass rate on a target is below a bar"
    )
    check.add_argument("--skill", required=True)
    check.add_argument("--target", required=True)
    check.add_argument("--tasks", help="tasks to run (default: the skill's tasks)")
    check.add_argument(
        "--condition",
        default="compiled",
        help="compiled (default), original, or custom:<label>=<dir>",
    )
    check.add_argument("--runs", type=_count(100), default=1)
    check.add_argument("--min-pass-rate", type=float, required=True)
    check.set_defaults(handler=_lazy("skvm_core.commands.bench", "cmd_check"))

    export = commands.add_parser(
        "export", help="write a skill's compiled variant where a harness loads skills in a project"
    )
    export.add_argument("--skill", required=True, help="skill folder")
    export.add_argument("--target", required=True, help="model id the variant was compiled for")
    export.add_argument("--harness", choices=HARNESS_CHOICES, required=True)
    export.add_argument("--into", required=True, help="the project folder")
    export.add_argument(
        "--original", action="store_true", help="export the skill as written, not compiled"
    )
    export.add_argument(
        "--force",
        action="store_true",
        help="replace a folder at the target that skvm export did not write",
    )
    export.add_argument(
        "--always-on",
        action="store_true",
        help="also write the skill's steps into the file the harness always reads "
        "(AGENTS.md, or CLAUDE.md for claude-code), in a marked section",
    )
    export.set_defaults(handler=_lazy("skvm_core.commands.harness", "cmd_export"))

    serve = commands.add_parser(
        "serve", help="serve a model on 127.0.0.1 as an OpenAI-compatible API (Chat + Responses)"
    )
    serve.add_argument("--model", required=True)
    serve.add_argument("--port", type=int, default=0, help="default: an ephemeral port")
    serve.set_defaults(handler=_lazy("skvm_core.commands.harness", "cmd_serve"))

    harness = commands.add_parser("harness", help="external agent harnesses (OpenCode, Codex CLI)")
    harness_commands = harness.add_subparsers(
        dest="harness_command", metavar="ACTION", required=True
    )
    harness_list = harness_commands.add_parser("list", help="the harnesses and their install state")
    harness_list.set_defaults(handler=_lazy("skvm_core.commands.harness", "cmd_harness_list"))
    harness_install = harness_commands.add_parser(
        "install", help="npm install the pinned harness CLIs into their own folder"
    )
    harness_install.add_argument(
        "names", nargs="*", help="opencode, codex, claude-code, pi (default: all of them)"
    )
    harness_install.set_defaults(handler=_lazy("skvm_core.commands.harness", "cmd_harness_install"))

    workbench = commands.add_parser("workbench", help="open the terminal workbench")
    workbench.add_argument("skill", nargs="?", help="skill folder to open")
    workbench.add_argument("--targets", help="comma-separated model ids")
    workbench.add_argument(
        "--parallel",
        metavar="auto|off|N",
        help="fan a per-item step out into sub-runs (default: the configuration's, auto)",
    )
    workbench.set_defaults(handler=_lazy("skvm_tui.launch", "cmd_workbench"))
    return parser


def _count(highest: int) -> Callable[[str], int]:
    """An argparse type: a whole number from 1 to `highest` (else a usage error, exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not 1 <= value <= highest:
            raise argparse.ArgumentTypeError(f"must be between 1 and {highest}, got {value}")
        return value

    return parse


def _executor_argument(parser) -> None:
    parser.add_argument(
        "--executor",
        default=None,
        help="where runs execute: local (this process; the default unless skvm.toml sets `executor`), ray (RAY_ADDRESS or a new local "
        "Ray instance) or ray://HOST:PORT (an existing cluster)",
    )


def _harness_argument(parser: argparse.ArgumentParser, *, many: bool = False) -> None:
    if many:
        parser.add_argument(
            "--harnesses",
            default="bare",
            help="comma-separated agent harnesses to run in: bare (our agent), opencode, codex, claude-code, pi",
        )
        return
    parser.add_argument(
        "--harness",
        choices=HARNESS_CHOICES,
        default="bare",
        help="the agent harness to run in: bare (our agent), opencode, codex, claude-code or pi (installed by `make harnesses`)",
    )


def _parallel_argument(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--parallel",
        default=default,
        metavar="auto|off|N",
        help="fan a per-item step of the skill out into concurrent sub-runs: auto (when the "
        f"target's profile does not batch calls), off, or at most N at once (default {default})",
    )


def _protocol_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--protocol",
        choices=("auto", "native", "constrained", "code-act"),
        default="auto",
        help="how the model acts: auto picks from its profile (see README, Protocols)",
    )


def _lazy(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import importlib

        return getattr(importlib.import_module(module), name)(args)

    return run


def _string_values(args: argparse.Namespace) -> list[str]:
    values: list[str] = []
    for value in vars(args).values():
        items = value if isinstance(value, list | tuple) else [value]
        values += [str(item) for item in items if isinstance(item, str | Path)]
    return values


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # No path, id or model name can hold a NUL; the OS would refuse it later with a bare ValueError.
    if any("\x00" in value for value in _string_values(args)):
        print("error: an argument contains a NUL byte (\\x00); remove it", file=sys.stderr)
        return EXIT_USAGE
    if args.version:
        from skvm_core import __version__

        print(f"skvm {__version__}")
        return EXIT_OK
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    from pydantic import ValidationError

    from skvm_core.errors import SkvmError

    try:
        return int(args.handler(args) or EXIT_OK)
    except SkvmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValidationError as exc:  # a value out of range that no earlier check caught
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or exc.title
        print(f"error: {where}: {first['msg']} (got {first.get('input')!r})", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the file system refused a path or a write: say which, and why
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
