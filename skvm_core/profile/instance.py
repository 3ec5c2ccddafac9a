"""Profile instances and the helpers generators use to build and check them."""

from __future__ import annotations

import json
import random
import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from skvm_core.agent.sandbox import run_command
from skvm_core.grading import Checkpoint
from skvm_core.profile.tcp import TestLevel

TEST_LEVELS: tuple[TestLevel, ...] = ("L1", "L2", "L3")
RESPONSE_FILE = "response.txt"


class Instance(BaseModel):
    """One generated micro-task. Same (primitive, level, seed, index) → same instance."""

    primitive: str
    level: TestLevel
    seed: int
    index: int
    prompt: str
    description: str
    files: dict[str, str] = Field(default_factory=dict)
    expected: dict[str, Any] = Field(default_factory=dict)
    # tool.web: routes served on loopback while the instance runs; `{base_url}` in the
    # prompt is replaced with the server's address.
    routes: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        return f"{self.primitive}/{self.level}/{self.index}"


class CheckResult(BaseModel):
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    infra_error: str | None = None

    @property
    def passed(self) -> bool:
        return (
            self.infra_error is None
            and bool(self.checkpoints)
            and all(c.score >= 0.5 for c in self.checkpoints)
        )

    @property
    def score(self) -> float:
        return (
            sum(c.score for c in self.checkpoints) / len(self.checkpoints)
            if self.checkpoints
            else 0.0
        )

    def summary(self) -> str:
        if self.infra_error:
            return f"infra: {self.infra_error}"
        failed = [f"{c.name}: {c.reason}" for c in self.checkpoints if c.score < 0.5]
        return "; ".join(failed) if failed else "all checkpoints passed"


class Checks:
    """Collects checkpoints; `fatal` stops further checks when a prerequisite fails."""

    def __init__(self) -> None:
        self.items: list[Checkpoint] = []

    def add(self, name: str, ok: bool, reason: str = "") -> bool:
        self.items.append(
            Checkpoint(
                name=name, score=1.0 if ok else 0.0, reason=reason or ("ok" if ok else "failed")
            )
        )
        return ok

    def graded(self, name: str, score: float, reason: str) -> None:
        self.items.append(Checkpoint(name=name, score=max(0.0, min(1.0, score)), reason=reason))

    def result(self) -> CheckResult:
        return CheckResult(checkpoints=self.items)


def rng_for(primitive: str, level: str, seed: int, index: int) -> random.Random:
    # A string seed hashes deterministically (unlike hash()), so instances repeat across runs.
    return random.Random(f"{primitive}|{level}|{seed}|{index}")


def read(work_dir: Path, name: str) -> str | None:
    path = work_dir / name
    try:
        return path.read_text("utf-8", errors="replace") if path.is_file() else None
    except OSError:
        return None


def strip_fences(text: str) -> str:
    match = re.search(r"```[a-zA-Z0-9_-]*\s*\n(.*?)```", text, re.DOTALL)
    return match.group(1).strip() if match else text.strip()


def extract_json(text: str) -> Any:
    """The first JSON value in the text (fences allowed); raises ValueError when none."""
    body = strip_fences(text)
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        pass
    decoder = json.JSONDecoder()
    for index, char in enumerate(body):
        if char in "[{":
            try:
                return decoder.raw_decode(body, index)[0]
            except json.JSONDecodeError:
                continue
    raise ValueError("no JSON value found")


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def last_number(text: str) -> float | None:
    found = _NUMBER.findall(text.replace("\u2212", "-"))
    if not found:
        return None
    try:
        return float(found[-1].replace(",", ""))
    except ValueError:
        return None


def close(got: float | None, want: float, absolute: float = 0.01, relative: float = 0.0) -> bool:
    return got is not None and abs(got - want) <= max(absolute, abs(want) * relative)


async def run_in(work_dir: Path, command: str, timeout_s: float = 30.0):
    return await run_command(command, work_dir, timeout_s=timeout_s, output_cap=64_000)


async def python_has(module: str, work_dir: Path) -> bool:
    result = await run_in(work_dir, f"python3 -c 'import {module}'", timeout_s=30)
    return result.exit_code == 0


class Generator(ABC):
    """One primitive: builds seeded instances for L1–L3, checks them, and knows a correct
    and a plausible wrong answer for each (the ground truth the tests hold it to)."""

    primitive: ClassVar[str]
    descriptions: ClassVar[dict[str, str]]
    writes_files: ClassVar[bool] = True  # False: judged from the final answer only

    def generate(self, level: TestLevel, seed: int, index: int) -> Instance:
        rng = rng_for(self.primitive, level, seed, index)
        prompt, files, expected = self.make(level, rng)
        if not self.writes_files:
            prompt += "\n\nGive the answer in your final reply; do not write files."
        return Instance(
            primitive=self.primitive,
            level=level,
            seed=seed,
            index=index,
            prompt=prompt,
            description=self.descriptions[level],
            files=files,
            expected=expected,
            routes=self.routes(level, expected),
        )

    def routes(self, level: TestLevel, expected: dict[str, Any]) -> dict[str, Any] | None:
        return None

    @abstractmethod
    def make(
        self, level: TestLevel, rng: random.Random
    ) -> tuple[str, dict[str, str], dict[str, Any]]: ...

    @abstractmethod
    async def check(self, instance: Instance, work_dir: Path, response: str) -> CheckResult: ...

    @abstractmethod
    def solve(self, instance: Instance, work_dir: Path) -> str:
        """Write a correct solution into `work_dir`; return the final answer text."""

    @abstractmethod
    def wrong(self, instance: Instance, work_dir: Path) -> str:
        """Write a plausible but wrong solution; return its final answer text."""


def write(work_dir: Path, name: str, text: str) -> None:
    path = work_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
