"""Command palette provider: every workbench action, namespaced, plus theme switching."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

COMMANDS = [
    ("Workbench: Compile all targets", "compile", "re-run the compiler for every target"),
    (
        "Workbench: Run task on selected target",
        "run_task",
        "run the current task on the target in view",
    ),
    (
        "Workbench: Run task on all targets",
        "run_all",
        "run the current task on every target side by side",
    ),
    (
        "Workbench: Profile selected target",
        "profile_target",
        "measure the target on the primitives",
    ),
    ("Workbench: Choose task", "choose_task", "pick the task to run"),
    (
        "Workbench: New task",
        "new_task",
        "write a task for this skill: a prompt, input files and checks",
    ),
    (
        "Workbench: Free run on a folder",
        "free_run",
        "run the skill on your own folder with a prompt (ungraded, live trace)",
    ),
    (
        "Workbench: Save free run as task",
        "save_run_as_task",
        "the last free run on this target as a task, its outputs as expected values",
    ),
    ("Workbench: Toggle watch", "toggle_watch", "recompile when the skill folder changes"),
    (
        "Workbench: Toggle auto re-run",
        "toggle_auto_rerun",
        "re-run the last task after each recompile",
    ),
    ("Workbench: Toggle diff view", "toggle_diff", "compiled view as a diff or as plain text"),
    ("Workbench: Open SKILL.md in editor", "open_editor", "edit the skill in $EDITOR"),
    (
        "Workbench: Bench",
        "bench",
        "bench sessions as targets × conditions; bench this skill's tasks",
    ),
    (
        "Workbench: Toggle solidification",
        "toggle_solidify",
        "runs use promoted templates; candidates run in the model's shadow",
    ),
    (
        "Workbench: Propose a fix",
        "propose_fix",
        "repairs for the failures of the last run on the selected target, as a proposal",
    ),
    ("Workbench: Proposals", "proposals", "review, accept or reject changes to variants"),
    ("Workbench: Help", "help", "keys and their binding ids"),
]


class WorkbenchCommands(Provider):
    async def discover(self) -> Hits:
        for title, action, help_text in COMMANDS:
            yield DiscoveryHit(title, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in COMMANDS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self.app.run_action, action),
                    help=help_text,
                )
        for name in sorted(self.app.available_themes):
            title = f"Theme: {name}"
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(setattr, self.app, "theme", name),
                    help="switch theme",
                )
