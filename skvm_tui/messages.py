"""Messages that workers post to the app (workers never touch widgets)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from skvm_core.bench.orchestrator import RunRecord
    from skvm_core.bench.sessions import SessionData, SessionSummary
    from skvm_core.compile import CompileResult
    from skvm_core.profile.tcp import TCP
    from skvm_core.run.runner import TaskRun
    from skvm_core.skill import Skill


class SkillLoaded(Message):
    def __init__(self, skill: Skill) -> None:
        super().__init__()
        self.skill = skill


class ProfilesLoaded(Message):
    def __init__(self, profiles: dict[str, TCP | None]) -> None:
        super().__init__()
        self.profiles = profiles


class Compiled(Message):
    def __init__(self, target: str, result: CompileResult) -> None:
        super().__init__()
        self.target = target
        self.result = result


class SynthesisStarted(Message):
    """A compiler model is writing the script a target's variant needs (minutes)."""

    def __init__(self, target: str, model: str) -> None:
        super().__init__()
        self.target = target
        self.model = model


class TraceEvent(Message):
    def __init__(self, target: str, event: Any) -> None:
        super().__init__()
        self.target = target
        self.event = event


class RunDone(Message):
    def __init__(self, target: str, outcome: TaskRun) -> None:
        super().__init__()
        self.target = target
        self.outcome = outcome


class ProfileProgress(Message):
    def __init__(self, target: str, done: int, total: int, detail: str) -> None:
        super().__init__()
        self.target = target
        self.done = done
        self.total = total
        self.detail = detail


class SkillChanged(Message):
    def __init__(self, paths: list[str]) -> None:
        super().__init__()
        self.paths = paths


class WorkFailed(Message):
    """A worker hit an error the user should see (shown as a notification)."""

    def __init__(self, title: str, error: str) -> None:
        super().__init__()
        self.title = title
        self.error = error


class LoadFinished(Message):
    """A load or recompile pass is over (all its results have been posted before this)."""


class BenchSessionsListed(Message):
    def __init__(self, sessions: list[SessionSummary]) -> None:
        super().__init__()
        self.sessions = sessions


class BenchLoaded(Message):
    def __init__(self, session: str, data: SessionData) -> None:
        super().__init__()
        self.session = session
        self.data = data


class BenchRecorded(Message):
    """One run of a live bench finished (or was found already finished)."""

    def __init__(self, session: str, record: RunRecord, done: int, total: int) -> None:
        super().__init__()
        self.session = session
        self.record = record
        self.done = done
        self.total = total


class BenchFinished(Message):
    def __init__(self, session: str, error: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.error = error


class RunTraceLoaded(Message):
    def __init__(self, events: list[Any]) -> None:
        super().__init__()
        self.events = events


class ProposalsListed(Message):
    def __init__(self, proposals: list[Any], texts: dict[str, tuple[str, str]]) -> None:
        super().__init__()
        self.proposals = proposals
        self.texts = texts  # proposal id → (current text, proposed text)


class FixProposed(Message):
    def __init__(self, proposal_id: str, rules: list[str]) -> None:
        super().__init__()
        self.proposal_id = proposal_id
        self.rules = rules


class FreeRunDone(Message):
    """A run on the user's own folder ended (ungraded)."""

    def __init__(self, target: str, run: Any) -> None:
        super().__init__()
        self.target = target
        self.run = run  # skvm_core.run.folder_run.FolderRun
