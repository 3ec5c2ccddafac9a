"""Pydantic models of a loaded skill."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["error", "warning", "info"]


class Span(BaseModel):
    """1-based inclusive line span in SKILL.md (the whole file, front matter included)."""

    model_config = ConfigDict(frozen=True)

    start: int
    end: int

    def __str__(self) -> str:
        return f"L{self.start}" if self.start == self.end else f"L{self.start}-{self.end}"


class Diagnostic(BaseModel):
    model_config = ConfigDict(frozen=True)

    severity: Severity
    code: str
    message: str
    file: str = "SKILL.md"
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{self.severity}: {where}: {self.message} [{self.code}]"


class FrontMatter(BaseModel):
    """The Agent Skills front matter. Unknown keys are kept in `extra`."""

    name: str | None = None
    description: str | None = None
    license: str | None = None
    compatibility: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    allowed_tools: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)


class BundleFile(BaseModel):
    """A file of the skill folder other than SKILL.md."""

    model_config = ConfigDict(frozen=True)

    path: str  # posix, relative to the skill folder
    size: int
    is_text: bool
    sha256: str


class Section(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str
    level: int
    path: tuple[str, ...]  # heading titles from the top down to this one
    span: Span  # heading line to the line before the next heading of same or higher rank


class CodeBlock(BaseModel):
    model_config = ConfigDict(frozen=True)

    language: str  # "" when the fence has no info string
    code: str
    span: Span  # fence lines included
    section_path: tuple[str, ...]


class ListItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    span: Span
    number: int | None = None  # set for ordered lists


class MarkdownList(BaseModel):
    model_config = ConfigDict(frozen=True)

    ordered: bool
    items: tuple[ListItem, ...]
    span: Span
    section_path: tuple[str, ...]
    depth: int  # 0 for top-level lists


class MarkdownIR(BaseModel):
    """Structure of the SKILL.md body with line spans into the file."""

    model_config = ConfigDict(frozen=True)

    sections: tuple[Section, ...]
    code_blocks: tuple[CodeBlock, ...]
    lists: tuple[MarkdownList, ...]

    @property
    def procedures(self) -> tuple[MarkdownList, ...]:
        """Numbered step lists: the skill's explicit procedures."""
        return tuple(lst for lst in self.lists if lst.ordered)


class Skill(BaseModel):
    root: Path
    front_matter: FrontMatter
    raw_front_matter: str
    body: str
    body_start_line: int  # 1-based line of SKILL.md where the body starts
    source: str  # SKILL.md exactly as read
    files: tuple[BundleFile, ...]
    ir: MarkdownIR
    content_hash: str
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def name(self) -> str:
        return self.front_matter.name or self.root.name

    @property
    def description(self) -> str:
        return self.front_matter.description or ""

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def is_valid(self) -> bool:
        return not self.errors
