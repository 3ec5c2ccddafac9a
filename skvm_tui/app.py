"""The SkVM workbench: a skill next to its compiled variant per target, the capability
heatmap, the live trace, re-compile and re-run on save, and the gap inspector.

Engine/UI split: everything that touches models, files or the compiler runs in workers
that only post messages (see `messages.py`); the handlers here update widgets. litellm is
imported only when the first run starts, in a worker thread, never before the first paint.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.widgets import Footer, Header, Static

from skvm_core.errors import SkvmError
from skvm_core.store.workspace import Workspace
from skvm_tui.engine import Engine
from skvm_tui.messages import (
    Compiled,
    FixProposed,
    FreeRunDone,
    LoadFinished,
    ProfileProgress,
    ProfilesLoaded,
    RunDone,
    SkillChanged,
    SkillLoaded,
    SynthesisStarted,
    TraceEvent,
    WorkFailed,
)
from skvm_tui.palette import WorkbenchCommands
from skvm_tui.settings import WorkbenchSettings, load_settings, save_settings
from skvm_tui.themes import discover_themes

if TYPE_CHECKING:
    from skvm_core.skill import Skill

SAMPLE_SKILLS = Path(__file__).resolve().parent.parent / "sample_skills"
WATCH_DEBOUNCE_MS = 200


class WorkbenchApp(App[int]):
    TITLE = "SkVM Workbench"
    CSS_PATH = Path(__file__).resolve().parent / "workbench.tcss"
    COMMANDS = App.COMMANDS | {WorkbenchCommands}
    BINDINGS = [
        Binding("c", "compile", "Compile", id="workbench.compile"),
        Binding("r", "run_task", "Run", id="workbench.run"),
        Binding("a", "run_all", "Run all", id="workbench.run_all"),
        Binding("p", "profile_target", "Profile", id="workbench.profile"),
        Binding("t", "choose_task", "Task", id="workbench.choose_task"),
        Binding("n", "new_task", "New task", id="workbench.new_task"),
        Binding("g", "free_run", "Free run", id="workbench.free_run"),
        Binding(
            "s", "save_run_as_task", "Save run as task", id="workbench.save_run_as_task", show=False
        ),
        Binding("w", "toggle_watch", "Watch", id="workbench.toggle_watch"),
        Binding("d", "toggle_diff", "Diff/plain", id="workbench.toggle_diff"),
        Binding("e", "open_editor", "Edit", id="workbench.open_editor"),
        Binding("b", "bench", "Bench", id="workbench.bench"),
        Binding("j", "toggle_solidify", "JIT", id="workbench.toggle_solidify"),
        Binding("f", "propose_fix", "Propose fix", id="workbench.propose_fix"),
        Binding("o", "proposals", "Proposals", id="workbench.proposals"),
        Binding("f1", "help", "Help", id="workbench.help"),
        Binding("q", "quit", "Quit", id="workbench.quit"),
    ]

    # Actions that act on the main view: off (and out of the footer) while another screen is up.
    MAIN_VIEW_ACTIONS = frozenset(
        {"compile", "run_task", "run_all", "profile_target", "choose_task", "new_task", "free_run", "save_run_as_task", "toggle_watch",
         "toggle_diff", "open_editor", "bench", "toggle_solidify", "propose_fix", "proposals"}
    )  # fmt: skip

    def __init__(
        self,
        skill_dir: Path,
        targets: list[str],
        engine: Engine,
        settings: WorkbenchSettings | None = None,
        persist_settings: bool = True,
    ) -> None:
        super().__init__()
        self.skill_dir = skill_dir
        self.targets = targets
        self.engine = engine
        self.settings = settings or load_settings()
        self.persist_settings = persist_settings
        self.skill: Skill | None = None
        self.profiles: dict = {}
        self.results: dict = {}
        self.last_runs: dict = {}
        self.failing: dict[str, list] = {t: [] for t in targets}
        self.task_id: str | None = None
        self.free_runs: dict = {}  # target → its last free run (FolderRun)
        self.free_run_form: tuple[str, str] = ("", "")  # the last prompt and folder typed
        self.compiles = 0
        self.loads_finished = 0
        self._watch_stop: asyncio.Event | None = None
        self.built = False  # the main view is mounted after the first frame
        # Themes before the first frame: switching after it restyles every widget once more.
        themes, self.theme_problems = discover_themes()
        for theme in themes:
            self.register_theme(theme)
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme

    # --- layout -------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # The first frame: the main view is mounted right after it (see `_build`).
        yield Header()
        yield Static("loading the workbench…", id="boot")
        yield Static("", id="status-line")
        yield Footer()

    def on_mount(self) -> None:
        for problem in self.theme_problems:
            self.notify(escape(problem), severity="warning")
        self.call_after_refresh(self._build)
        self._status()

    async def _build(self) -> None:
        """The main view, then the load and compile: after the first frame is on screen
        (the worker thread competes with rendering for the interpreter)."""
        from skvm_tui.layout import MainView

        await self.mount(MainView(self.targets), before="#status-line")
        await self.query_one("#boot").remove()
        self.built = True
        self.load_everything()
        if self.settings.watch:
            self.start_watch()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in self.MAIN_VIEW_ACTIONS:
            return True
        # Off until the main view is mounted, and while another screen is up.
        return self.built and len(self.screen_stack) == 1

    # --- helpers --------------------------------------------------------------------
    @property
    def selected_index(self) -> int:
        active = self.query_one("#variants").active or "target-0"
        return int(active.rsplit("-", 1)[1])

    @property
    def selected_target(self) -> str:
        return self.targets[self.selected_index]

    def _status(self, extra: str = "") -> None:
        parts = [
            f"skill {self.skill.name if self.skill else self.skill_dir.name}",
            f"task {self.task_id or '—'}",
            f"watch {'on' if self._watch_stop else 'off'}",
            f"auto re-run {'on' if self.settings.auto_rerun else 'off'}",
            f"view {'diff' if self.settings.diff_view else 'plain'}",
            f"jit {'on' if self.settings.solidify else 'off'}",
        ]
        if extra:
            parts.append(extra)
        self.query_one("#status-line", Static).update(" · ".join(parts))

    def _save(self) -> None:
        if self.persist_settings:
            try:
                save_settings(self.settings)
            except OSError as exc:
                self.notify(f"cannot save settings: {escape(str(exc))}", severity="warning")

    def watch_theme(self, theme: str) -> None:
        self.settings.theme = theme
        if self.is_mounted and self.built:
            self._refresh_heatmap()
            if self.skill:
                self.query_one("#source").show(self.skill, self.current_theme.dark)
            self._save()

    def _required(self) -> dict[str, str]:
        for result in self.results.values():
            scr = result.artifacts.get("analyze")
            if scr is not None:
                return {p: scr.required_level(p) for p in {r.id for _, r in scr.requirements()}}
        return {}

    def _refresh_heatmap(self) -> None:
        self.query_one("#heatmap").fill(self.targets, self.profiles, self._required())

    def _refresh_gaps(self) -> None:
        target = self.selected_target
        last = self.last_runs.get(target)
        self.query_one("#gaps").show(
            target,
            self.results.get(target),
            self.failing.get(target, []),
            failed_run=last is not None and not last.score.passed,
        )

    # --- workers (they only post messages) -----------------------------------------------
    @work(thread=True, exclusive=True, group="load")
    def load_everything(self) -> None:
        try:
            self._load_everything()
        finally:
            self.post_message(LoadFinished())

    def _load_everything(self) -> None:
        try:
            skill = self.engine.load_skill(self.skill_dir)
        except SkvmError as exc:
            self.post_message(WorkFailed("Cannot load the skill", str(exc)))
            return
        self.post_message(SkillLoaded(skill))
        profiles = {}
        for target in self.targets:
            try:
                profiles[target] = self.engine.profile(target)
            except SkvmError as exc:
                profiles[target] = None
                self.post_message(WorkFailed(f"Profile of {target}", str(exc)))
        self.post_message(ProfilesLoaded(profiles))
        self._compile_all(skill, profiles)

    def _compile_all(self, skill: Skill, profiles: dict) -> None:
        needing = []
        for target in self.targets:
            tcp = profiles.get(target)
            if tcp is None:
                self.post_message(
                    WorkFailed(
                        f"No profile for {target}",
                        f"run `skvm profile --model {target}` or press p",
                    )
                )
                continue
            try:
                result = self.engine.compile(skill, tcp, target)
            except SkvmError as exc:
                self.post_message(WorkFailed(f"Compile for {target} failed", str(exc)))
                continue
            self.post_message(Compiled(target, result))
            if self.engine.wants_synthesis(result):
                needing.append((target, tcp))
        if needing:
            self.call_from_thread(self.synthesise_variants, skill, needing)

    @work(thread=True, exclusive=True, group="synthesis")
    def synthesise_variants(self, skill: Skill, needing: list) -> None:
        """The static variants are shown; each is replaced when its synthesis lands (the
        script is the same for every target, so the second one reuses the first's)."""
        model = self.engine.synthesis_model() or ""
        for target, tcp in needing:
            self.post_message(SynthesisStarted(target, model))
            try:
                result = self.engine.compile_with_synthesis(skill, tcp, target)
            except SkvmError as exc:
                self.post_message(WorkFailed(f"Synthesis for {target} failed", str(exc)))
                continue
            if self.skill is not None and self.skill.content_hash != skill.content_hash:
                return  # the skill was edited meanwhile: its own compile supersedes this one
            self.post_message(Compiled(target, result))

    @work(thread=True, exclusive=True, group="load")
    def recompile(self, reload: bool) -> None:
        try:
            self._recompile(reload)
        finally:
            self.post_message(LoadFinished())

    def _recompile(self, reload: bool) -> None:
        skill = self.skill
        if reload or skill is None:
            try:
                skill = self.engine.load_skill(self.skill_dir)
            except SkvmError as exc:
                self.post_message(WorkFailed("The skill no longer loads", str(exc)))
                return
            self.post_message(SkillLoaded(skill))
        self._compile_all(skill, self.profiles)

    def start_watch(self) -> None:
        self._watch_stop = asyncio.Event()
        self.watch_skill(self._watch_stop)

    @work(exclusive=True, group="watch")
    async def watch_skill(self, stop: asyncio.Event) -> None:
        from watchfiles import awatch

        async for changes in awatch(
            self.skill_dir, debounce=WATCH_DEBOUNCE_MS, step=50, stop_event=stop, recursive=True
        ):
            paths = sorted({path for _change, path in changes})  # added and modified both count
            self.post_message(SkillChanged(paths))

    def run_on(self, index: int) -> None:
        self.run_worker(
            self._run(index),
            group=f"run-{index}",
            exclusive=True,
            name=f"run {self.targets[index]}",
        )

    async def _run(self, index: int) -> None:
        target = self.targets[index]
        task = self._current_task()
        if task is None:
            self.post_message(
                WorkFailed("No task", "this skill has no tasks: press n to write one")
            )
            return
        result = self.results.get(target)
        try:
            skill = (
                await asyncio.to_thread(self.engine.variant_skill, result, target)
                if result
                else self.skill
            )
            outcome = await self.engine.run(
                task,
                target,
                skill,
                lambda event: self.post_message(TraceEvent(target, event)),
                solidify=self.settings.solidify,
            )
        except SkvmError as exc:
            self.post_message(WorkFailed(f"Run on {target} failed", str(exc)))
            return
        self.post_message(RunDone(target, outcome))

    async def _free_run(self, index: int, prompt: str, folder: Path) -> None:
        target = self.targets[index]
        result = self.results.get(target)
        try:
            skill = (
                await asyncio.to_thread(self.engine.variant_skill, result, target)
                if result
                else self.skill
            )
            run = await self.engine.run_folder(
                prompt, folder, target, skill, lambda e: self.post_message(TraceEvent(target, e))
            )
        except SkvmError as exc:
            self.post_message(WorkFailed(f"Free run on {target} failed", str(exc)))
            return
        self.post_message(FreeRunDone(target, run))

    @work(exclusive=True, group="profile")
    async def profile_worker(self, target: str) -> None:
        from skvm_core.profile.runner import ProfileOptions, Profiler, store_tcp

        def progress(record, done: int, total: int) -> None:
            self.post_message(
                ProfileProgress(
                    target,
                    done,
                    total,
                    f"{record.primitive} {record.level} {'✓' if record.passed else '✗'}",
                )
            )

        try:
            from skvm_core.llm import preload

            await asyncio.to_thread(preload)
            profiler = Profiler(
                ProfileOptions(model=target, fast=True, instances=1),
                self.engine.workspace,
                progress,
            )
            tcp = await profiler.run(resume=True)
            await asyncio.to_thread(store_tcp, tcp, self.engine.workspace)
        except SkvmError as exc:
            self.post_message(WorkFailed(f"Profiling {target} failed", str(exc)))
            return
        self.profiles[target] = tcp
        self.post_message(ProfilesLoaded(dict(self.profiles)))
        self.recompile(reload=False)

    def _current_task(self):
        if self.skill is None:
            return None
        tasks = self.engine.tasks_for(self.skill)
        chosen = next((t for t in tasks if t.id == self.task_id), None)
        return chosen or (tasks[0] if tasks else None)

    # --- message handlers ---------------------------------------------------------------
    def on_skill_loaded(self, message: SkillLoaded) -> None:
        self.call_after_refresh(self._refresh_jit)
        self.skill = message.skill
        self.sub_title = f"{message.skill.name} · {len(self.targets)} targets"
        self.query_one("#source").show(message.skill, self.current_theme.dark)
        remembered = self.settings.last_task.get(message.skill.name)
        tasks = self.engine.tasks_for(message.skill)
        if self.task_id is None:
            self.task_id = (
                remembered
                if any(t.id == remembered for t in tasks)
                else (tasks[0].id if tasks else None)
            )
        self._status()

    def on_profiles_loaded(self, message: ProfilesLoaded) -> None:
        self.profiles = message.profiles
        self._refresh_heatmap()

    def on_compiled(self, message: Compiled) -> None:
        self.results[message.target] = message.result
        self.compiles += 1
        index = self.targets.index(message.target)
        self.query_one(f"#variant-{index}").show(
            message.result, self.settings.diff_view, self.current_theme.dark
        )
        self._refresh_heatmap()
        if message.target == self.selected_target:
            self._refresh_gaps()
        self._status(f"compiled {message.target}")

    def on_synthesis_started(self, message: SynthesisStarted) -> None:
        self._status(f"{message.model} is writing and verifying a script for {message.target}…")

    def on_load_finished(self, message: LoadFinished) -> None:
        self.loads_finished += 1

    def on_trace_event(self, message: TraceEvent) -> None:
        if message.event.type == "run_started":
            self.failing[message.target] = []
        if message.event.type == "tool_result" and not message.event.ok:
            self.failing[message.target].append(message.event)
        self.query_one("#trace").add(message.event)

    def on_run_done(self, message: RunDone) -> None:
        self.last_runs[message.target] = message.outcome
        score = message.outcome.score
        severity = "information" if score.passed else "warning"
        self.notify(
            f"{message.target}: {score.summary()} ({message.outcome.run.status})",
            title=f"Task {message.outcome.task_id}",
            severity=severity,
        )
        self._refresh_gaps()
        self._refresh_jit()

    def on_free_run_done(self, message: FreeRunDone) -> None:
        run = message.run
        self.free_runs[message.target] = run
        names = ", ".join(run.changed[:5]) or "no files"
        if run.copied_back:
            body = f"wrote {names} into {run.folder} (s saves this run as a task)"
        else:
            body = f"ended {run.outcome.run.status}: {run.folder} left as it was (it wrote {names})"
        self.notify(
            escape(body),
            title=f"Free run on {message.target}",
            severity="information" if run.copied_back else "warning",
        )

    def on_profile_progress(self, message: ProfileProgress) -> None:
        self._status(f"profiling {message.target}: {message.done}/{message.total} {message.detail}")

    def on_skill_changed(self, message: SkillChanged) -> None:
        self._status(f"changed: {', '.join(Path(p).name for p in message.paths[:3])}")
        self.recompile(reload=True)
        if self.settings.auto_rerun and self.task_id:
            self.run_on(self.selected_index)

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(escape(message.error), title=message.title, severity="error", timeout=8)

    def on_tabbed_content_tab_activated(self, event) -> None:
        if event.tabbed_content.id == "variants":
            self._target_changed()

    def _target_changed(self) -> None:
        self._refresh_gaps()
        self._refresh_jit()

    def _refresh_jit(self) -> None:
        target = self.selected_target
        try:
            state = self.engine.jit_state(self.skill.name, target) if self.skill else None
        except SkvmError as exc:
            self.notify(escape(str(exc)), title="Solidification state", severity="error")
            state = None
        self.query_one("#jit").show(target, state, self.settings.solidify)

    def on_data_table_cell_selected(self, event) -> None:
        if event.data_table.id == "heatmap":
            self._cell_selected(event)

    def _cell_selected(self, event) -> None:
        from skvm_tui.screens.modals import CellDetailScreen, cell_detail_text

        column = event.coordinate.column
        heatmap = self.query_one("#heatmap")
        if column < 2 or column - 2 >= len(heatmap.targets):
            return
        if event.cell_key.row_key.value not in heatmap.primitives:
            return  # the protocol row: nothing more to show
        target = heatmap.targets[column - 2]
        primitive = event.cell_key.row_key.value
        body = cell_detail_text(
            primitive, target, self.profiles.get(target), self._required().get(primitive)
        )
        self.push_screen(CellDetailScreen(body))

    # --- actions ------------------------------------------------------------------------
    def action_compile(self) -> None:
        self.recompile(reload=True)

    def action_run_task(self) -> None:
        self.query_one("#lower").active = "trace-tab"
        self.run_on(self.selected_index)

    def action_run_all(self) -> None:
        self.query_one("#lower").active = "trace-tab"
        for index in range(len(self.targets)):
            self.run_on(index)

    def action_profile_target(self) -> None:
        self.notify(
            f"profiling {self.selected_target} (fast, 1 instance per level); progress in the status line"
        )
        self.profile_worker(self.selected_target)

    def action_choose_task(self) -> None:
        if self.skill is None:
            return
        tasks = [(t.id, t.name or t.prompt[:50]) for t in self.engine.tasks_for(self.skill)]
        if not tasks:
            self.notify("this skill has no tasks: press n to write one", severity="warning")
            return

        def chosen(task_id: str | None) -> None:
            if task_id:
                self.task_id = task_id
                self.settings.last_task[self.skill.name] = task_id
                self._save()
                self._status()

        from skvm_tui.screens.modals import TaskPicker

        self.push_screen(TaskPicker(tasks), chosen)

    def action_new_task(self) -> None:
        if self.skill is None:
            return
        from skvm_tui.screens.new_task import NewTaskScreen

        def written(task_id: str | None) -> None:
            if task_id:
                self.task_id = task_id
                self.settings.last_task[self.skill.name] = task_id
                self._save()
                self._status()
                self.notify(f"task {task_id} written: r runs it, a runs it on every target")

        self.push_screen(NewTaskScreen(self.engine, self.skill), written)

    def action_free_run(self) -> None:
        if self.skill is None:
            return
        from skvm_tui.screens.free_run import FreeRunScreen

        index = self.selected_index

        def chosen(form: tuple[str, Path] | None) -> None:
            if form is None:
                return
            prompt, folder = form
            self.free_run_form = (prompt, str(folder))
            self.query_one("#lower").active = "trace-tab"
            self.run_worker(
                self._free_run(index, prompt, folder),
                group=f"run-{index}",
                exclusive=True,
                name=f"free run {self.targets[index]}",
            )

        prompt, folder = self.free_run_form
        self.push_screen(
            FreeRunScreen(self.skill.name, self.selected_target, folder, prompt), chosen
        )

    def action_save_run_as_task(self) -> None:
        run = self.free_runs.get(self.selected_target)
        if run is None or self.skill is None:
            self.notify("make a free run on this target first (g)", severity="warning")
            return
        try:
            folder = self.engine.save_run_as_task(run, self.skill)
            task_id = self.engine.task_id_at(folder)
        except SkvmError as exc:
            self.notify(escape(str(exc)), title="Save run as task", severity="error")
            return
        self.task_id = task_id
        self.settings.last_task[self.skill.name] = task_id
        self._save()
        self._status()
        self.notify(
            escape(f"{folder / 'task.json'}: what the run wrote is now expected; check it (t, r)"),
            title=f"Task {task_id}",
        )

    def action_toggle_watch(self) -> None:
        if self._watch_stop is not None:
            self._watch_stop.set()
            self._watch_stop = None
            self.settings.watch = False
        else:
            self.start_watch()
            self.settings.watch = True
        self._save()
        self._status()

    def action_toggle_solidify(self) -> None:
        self.settings.solidify = not self.settings.solidify
        self._save()
        self._refresh_jit()
        self._status()

    def action_proposals(self) -> None:
        from skvm_tui.screens.proposals import ProposalsScreen

        self.push_screen(ProposalsScreen(self.engine))

    def action_propose_fix(self) -> None:
        target = self.selected_target
        outcome = self.last_runs.get(target)
        if outcome is None or outcome.score.passed:
            self.notify(
                "run the task on this target first: a fix is proposed from a failed run",
                title="Propose a fix",
                severity="warning",
            )
            return
        self.propose_fix_worker(target, outcome)

    @work(thread=True, exclusive=True, group="propose")
    def propose_fix_worker(self, target: str, outcome) -> None:
        result = self.results.get(target)
        try:
            variant = self.engine.variant_skill(result, target) if result else self.skill
            proposal_id, rules = self.engine.propose_fix(self.skill, target, variant, outcome)
        except SkvmError as exc:
            self.post_message(WorkFailed("Propose a fix", str(exc)))
            return
        self.post_message(FixProposed(proposal_id, rules))

    def on_fix_proposed(self, message: FixProposed) -> None:
        self.notify(
            escape(f"{message.proposal_id}: {', '.join(message.rules)} (o opens the proposals)"),
            title="Fix proposed",
        )

    def action_toggle_auto_rerun(self) -> None:
        self.settings.auto_rerun = not self.settings.auto_rerun
        self._save()
        self._status()

    def action_toggle_diff(self) -> None:
        self.settings.diff_view = not self.settings.diff_view
        self._save()
        for target, result in self.results.items():
            index = self.targets.index(target)
            self.query_one(f"#variant-{index}").show(
                result, self.settings.diff_view, self.current_theme.dark
            )
        self._status()

    def action_open_editor(self) -> None:
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.notify("set $EDITOR to edit the skill from here", severity="warning")
            return
        command = [*shlex.split(editor), str(self.skill_dir / "SKILL.md")]
        try:
            with self.suspend():
                subprocess.run(command, check=False)
        except SuspendNotSupported:  # headless (tests, web): nothing to hand the terminal to
            subprocess.run(command, check=False, stdin=subprocess.DEVNULL, capture_output=True)
        if self._watch_stop is None:
            self.recompile(reload=True)

    def action_bench(self) -> None:
        # Installed once and kept, so a bench started there runs on while this view is shown.
        from skvm_tui.screens.bench import BenchScreen

        if not self.is_screen_installed("bench"):
            self.install_screen(
                BenchScreen(
                    self.engine,
                    self.targets,
                    lambda: self.engine.tasks_for(self.skill) if self.skill else [],
                ),
                name="bench",
            )
        self.push_screen("bench")

    def action_help(self) -> None:
        rows = [(b.key, b.description, b.id or "") for b in self.BINDINGS if isinstance(b, Binding)]
        from skvm_tui.screens.modals import HelpScreen

        self.push_screen(HelpScreen(rows))


def run_workbench(skill: str | None, targets: list[str] | None, parallel: str | None = None) -> int:
    from skvm_core.config import load_config

    config = load_config()
    folder = Path(skill).expanduser() if skill else SAMPLE_SKILLS / "csv-report"
    if not (folder / "SKILL.md").is_file():
        raise SkvmError(
            f"no SKILL.md in {folder}", hint="pass a skill folder, e.g. sample_skills/csv-report"
        )
    engine = Engine(
        Workspace(config.workspace_dir()),
        executor=config.executor,
        parallel=parallel or config.parallel,
    )
    app = WorkbenchApp(folder.resolve(), targets or config.default_targets, engine)
    return app.run() or 0
