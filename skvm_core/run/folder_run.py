"""A run on the user's own folder: the agent works on a copy, and the files it created or
changed are copied back only when the run ended normally. Nothing else in the folder is
touched, and a failed or interrupted run leaves it as it was. The run is ungraded; it can
become a task afterwards (`task_from_folder_run`)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from pydantic import BaseModel

from skvm_core.agent.trace import Subscriber
from skvm_core.errors import SkvmError
from skvm_core.run.checks import CheckSpec
from skvm_core.run.runner import TaskRun, run_task
from skvm_core.run.task import Task
from skvm_core.run.workfiles import read_text, regular_files
from skvm_core.skill import Skill
from skvm_core.store.beneath import replace_file_beneath
from skvm_core.store.workspace import Workspace

# A free run copies the folder: bounded so a home folder picked by mistake is refused.
MAX_FOLDER_FILES = 2_000
MAX_FOLDER_BYTES = 200 * 1024 * 1024
# Outputs at most this large become `equals` checks when the run is saved as a task.
EXPECTED_TEXT_CAP = 64 * 1024
REPLACED = "replaced"  # beside the run: the folder's files as they were before it


class FolderRun(BaseModel):
    prompt: str
    folder: Path
    outcome: TaskRun
    changed: list[str]  # files the run created or changed, relative to the folder
    copied_back: bool
    outputs: dict[str, str] = {}  # the text of each changed file (when small and text)


def _digests(root: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in regular_files(root):
        with path.open("rb") as handle:
            found[path.relative_to(root).as_posix()] = hashlib.file_digest(
                handle, "sha256"
            ).hexdigest()
    return found


def check_folder(folder: Path) -> None:
    """The folder can be copied for a run: it exists and is not too large."""
    if not folder.is_dir():
        raise SkvmError(f"{folder}: no such folder", hint="--workdir takes a folder of your files")
    size = 0
    for count, path in enumerate(regular_files(folder), start=1):
        size += path.lstat().st_size
        if count > MAX_FOLDER_FILES or size > MAX_FOLDER_BYTES:
            raise SkvmError(
                f"{folder} is too large for a run on a copy (over {MAX_FOLDER_FILES} files "
                f"or {MAX_FOLDER_BYTES // 2**20} MiB)",
                hint="point it at the folder of the files the prompt is about",
            )


def _laid_by_the_run(skill: Skill | None, harness: str):
    """Files the run itself put in the work folder, which are not the user's outputs: the
    skill's bundle files as shipped, and the harness's copy of the skill."""
    from skvm_core.harness import get_harness

    shipped = _digests(skill.root) if skill is not None else {}
    folder = get_harness(harness).skills_folder

    def laid(name: str, digest: str) -> bool:
        if folder and (name == folder or name.startswith(folder.rstrip("/") + "/")):
            return True
        return shipped.get(name) == digest

    return laid


async def run_on_folder(
    prompt: str,
    model: str,
    folder: Path,
    *,
    skill: Skill | None,
    workspace: Workspace,
    subscribers: list[Subscriber] | None = None,
    harness: str = "bare",
    protocol: str = "auto",
    skill_mode: str = "inject",
    label: str = "folder",
    parallel: str | int = "off",
) -> FolderRun:
    folder = folder.expanduser().resolve()
    check_folder(folder)
    before = _digests(folder)
    task = Task(id=label, prompt=prompt, origin={"format": "free-run"})
    outcome = await run_task(
        task,
        model,
        skill=skill,
        use_task_skill=False,
        skill_mode=skill_mode,
        keep=True,
        workspace=workspace,
        subscribers=subscribers,
        protocol=protocol,
        harness=harness,
        inputs=folder,
        parallel=parallel,
    )
    work_dir = outcome.run.work_dir
    try:
        after = _digests(work_dir)
        laid = _laid_by_the_run(skill, harness)
        changed = sorted(
            name
            for name, digest in after.items()
            if before.get(name) != digest and not laid(name, digest)
        )
        outputs = {}
        for name in changed:
            text = read_text(work_dir, work_dir / name, cap=EXPECTED_TEXT_CAP + 1)
            if text is not None and len(text) <= EXPECTED_TEXT_CAP and "\ufffd" not in text:
                outputs[name] = text
        copied = outcome.run.status == "ok" and not outcome.run.tainted
        if copied:
            (outcome.run_dir / REPLACED).mkdir(exist_ok=True)
            for name in changed:
                if name in before:  # kept beside the run: an undo, and the task's input
                    replace_file_beneath(
                        outcome.run_dir / REPLACED, name, (folder / name).read_bytes()
                    )
                replace_file_beneath(folder, name, (work_dir / name).read_bytes())
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return FolderRun(
        prompt=prompt,
        folder=folder,
        outcome=outcome,
        changed=changed,
        copied_back=copied,
        outputs=outputs,
    )


def checks_from_outputs(run: FolderRun) -> list[CheckSpec]:
    """What the run produced, as checks for a task: each small text output must equal what it
    was, anything else must exist. The author accepts or edits them."""
    return [
        CheckSpec(kind="equals", file=name, value=run.outputs[name])
        if name in run.outputs
        else CheckSpec(kind="exists", file=name)
        for name in run.changed
    ]


def input_files(run: FolderRun) -> list[tuple[Path, str]]:
    """The files the run started from, each with its path in the folder: unchanged ones from
    the folder, ones the run replaced from the copy kept beside the run."""
    kept = run.outcome.run_dir / REPLACED
    found = []
    for path in regular_files(run.folder):
        name = path.relative_to(run.folder).as_posix()
        if name not in run.changed:
            found.append((path, name))
        elif (kept / name).is_file():
            found.append((kept / name, name))
    return found


def save_as_task(
    run: FolderRun, skill: Skill, workspace: Workspace, task_id: str | None = None
) -> Path:
    """The run as a task for the skill: its prompt, the files it started from as fixtures,
    and what it wrote as the expected values (`write_new_task` decides where it goes)."""
    from skvm_core.run.authoring import write_new_task

    if not run.changed:
        raise SkvmError(
            "the run wrote no files, so there is nothing to check",
            hint="write the task's checks yourself (the new-task screen, or `skvm task new`)",
        )
    return write_new_task(
        skill,
        workspace,
        prompt=run.prompt,
        checks=checks_from_outputs(run),
        named_files=input_files(run),
        task_id=task_id,
        origin={
            "format": "free-run",
            "run": run.outcome.run.run_id,
            "model": run.outcome.run.model,
            "note": "expected values are what this run wrote: accept or edit them",
        },
    )
