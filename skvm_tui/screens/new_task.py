"""A new task for the skill in view, written from a form: a prompt, input files picked from
a folder, and checks. It is written where the workbench finds it again; then it can be
opened in $EDITOR and is re-validated after each edit, with its problems shown here."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import on
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, SelectionList, Static, TextArea

from skvm_core.errors import SkvmError
from skvm_core.run.checks import CHECK_KINDS, CheckSpec, check_criterion

if TYPE_CHECKING:
    from skvm_core.skill import Skill
    from skvm_tui.engine import Engine

MAX_LISTED_FILES = 300  # a folder picked by mistake lists this many, not thousands

NEW_TASK_CSS = """
NewTaskScreen { align: center middle; }
NewTaskScreen > VerticalScroll {
    width: 110; height: 90%; border: round $primary; background: $surface; padding: 0 1;
}
NewTaskScreen #prompt { height: 6; }
NewTaskScreen #files { height: auto; max-height: 10; }
NewTaskScreen .row { height: auto; }
NewTaskScreen #check-kind { width: 24; }
NewTaskScreen #check-file { width: 28; }
NewTaskScreen #check-value { width: 1fr; }
NewTaskScreen #problems { color: $error; height: auto; }
NewTaskScreen #saved { color: $success; height: auto; }
"""


class NewTaskScreen(ModalScreen[str | None]):
    """Dismissed with the new task's id (None when nothing was written)."""

    DEFAULT_CSS = NEW_TASK_CSS
    BINDINGS = [
        Binding("escape", "close", "Close", id="new_task.close"),
        Binding("ctrl+s", "save", "Save task", id="new_task.save"),
        Binding("ctrl+e", "edit", "Edit task.json", id="new_task.edit"),
    ]

    def __init__(self, engine: Engine, skill: Skill) -> None:
        super().__init__()
        self.engine = engine
        self.skill = skill
        self.checks: list[CheckSpec] = []
        self.folder: Path | None = None
        self.written: Path | None = None

    def compose(self) -> ComposeResult:
        where = self.engine.new_task_folder(self.skill)
        with VerticalScroll():
            yield Label(
                f"[b]New task for {escape(self.skill.name)}[/b] · written under {escape(str(where))}"
            )
            yield Label("Prompt: what the model is asked to do")
            yield TextArea(id="prompt")
            yield Label("Input files: a folder, then pick the files (copied into the task)")
            with Horizontal(classes="row"):
                yield Input(placeholder="folder of input files", id="folder")
                yield Button("List", id="list-files")
            yield SelectionList[str](id="files")
            yield Label("Checks: each must pass for a run to pass")
            with Horizontal(classes="row"):
                yield Select(
                    [(kind, kind) for kind in CHECK_KINDS],
                    value="exists",
                    allow_blank=False,
                    id="check-kind",
                )
                yield Input(placeholder="output file", id="check-file")
                yield Input(placeholder="value", id="check-value")
                yield Button("Add", id="add-check")
            yield Static(CHECK_KINDS["exists"], id="check-help")
            yield Static("no checks yet", id="checks")
            yield Static("", id="problems")
            yield Static("", id="saved")
            with Horizontal(classes="row"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Edit task.json", id="edit", disabled=True)
                yield Button("Close", id="close")

    # --- the form ---------------------------------------------------------------------
    def _problem(self, text: str) -> None:
        self.query_one("#problems", Static).update(escape(text))

    @on(Select.Changed, "#check-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self.query_one("#check-help", Static).update(CHECK_KINDS.get(str(event.value), ""))

    @on(Button.Pressed, "#list-files")
    @on(Input.Submitted, "#folder")
    def list_files(self) -> None:
        from skvm_core.run.workfiles import regular_files

        typed = self.query_one("#folder", Input).value.strip()
        folder = Path(typed).expanduser() if typed else None
        files = self.query_one("#files", SelectionList)
        files.clear_options()
        if folder is None or not folder.is_dir():
            self.folder = None
            self._problem(f"{typed or 'the folder'}: no such folder")
            return
        self.folder = folder.resolve()
        found = []
        for path in regular_files(self.folder):
            found.append(path.relative_to(self.folder).as_posix())
            if len(found) >= MAX_LISTED_FILES:
                break
        files.add_options([(name, name) for name in found])
        self._problem("" if found else f"{folder} has no files")

    @on(Button.Pressed, "#add-check")
    @on(Input.Submitted, "#check-value")
    def add_check(self) -> None:
        spec = CheckSpec(
            kind=self.query_one("#check-kind", Select).value,
            file=self.query_one("#check-file", Input).value.strip(),
            value=self.query_one("#check-value", Input).value,
        )
        try:
            check_criterion(spec)  # says now what is wrong, not at save
        except SkvmError as exc:
            self._problem(str(exc))
            return
        self.checks.append(spec)
        self.query_one("#check-value", Input).value = ""
        self.query_one("#checks", Static).update(
            "\n".join(f"{i + 1}. {escape(c.said())}" for i, c in enumerate(self.checks))
        )
        self._problem("")

    # --- writing and editing ------------------------------------------------------------
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.written is not None:
            self._problem("this task is written; edit task.json, or close and press n again")
            return
        picked = self.query_one("#files", SelectionList).selected
        files = [self.folder / name for name in picked] if self.folder else []
        try:
            self.written = self.engine.write_task(
                self.skill,
                prompt=self.query_one("#prompt", TextArea).text,
                checks=self.checks,
                files=files,
                files_root=self.folder,
            )
        except SkvmError as exc:
            self._problem(str(exc))
            return
        self._problem("")
        self.query_one("#saved", Static).update(
            escape(f"wrote {self.written / 'task.json'} · ctrl+e edits it, escape returns")
        )
        self.query_one("#edit", Button).disabled = False
        self.query_one("#save", Button).disabled = True

    @on(Button.Pressed, "#edit")
    def action_edit(self) -> None:
        if self.written is None:
            self._problem("save the task first")
            return
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self._problem("set $EDITOR to edit task.json from here")
            return
        command = [*shlex.split(editor), str(self.written / "task.json")]
        try:
            with self.app.suspend():
                subprocess.run(command, check=False)
        except SuspendNotSupported:  # headless: nothing to hand the terminal to
            subprocess.run(command, check=False, stdin=subprocess.DEVNULL, capture_output=True)
        self.revalidate()

    def revalidate(self) -> list[str]:
        """The written task checked again (after an edit); its problems shown inline."""
        problems = self.engine.check_task(self.written) if self.written else []
        self._problem("\n".join(problems))
        if not problems:
            self.query_one("#saved", Static).update(
                escape(f"{self.written / 'task.json'} is valid")
            )
        return problems

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        if self.written is None:
            self.dismiss(None)
            return
        try:
            self.dismiss(self.engine.task_id_at(self.written))
        except SkvmError:
            self.dismiss(None)  # broken by an edit: the problems were shown, nothing to select
