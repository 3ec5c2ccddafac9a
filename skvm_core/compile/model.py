"""Compiler artifacts: SCR (reference shape plus line evidence), gaps, source maps."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from skvm_core.catalog import Level
from skvm_core.compile.contract import Contract

RequiredLevel = Literal["L1", "L2", "L3"]


class _Camel(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class Requirement(_Camel):
    id: str  # primitive id
    min_level: RequiredLevel = Field(alias="minLevel")
    evidence: str
    # Our addition: the SKILL.md lines (1-based, inclusive) or bundle file the evidence comes from.
    lines: tuple[int, int] | None = None
    file: str = "SKILL.md"


class CapabilityPath(_Camel):
    primitives: list[Requirement]
    note: str | None = None
    # Our addition: the primitive this alternative path stands in for.
    replaces: str | None = None


class Purpose(_Camel):
    id: str
    description: str
    current_path: CapabilityPath = Field(alias="currentPath")
    alternative_paths: list[CapabilityPath] = Field(default_factory=list, alias="alternativePaths")
    lines: tuple[int, int] | None = None


class SCR(_Camel):
    skill_name: str = Field(alias="skillName")
    purposes: list[Purpose]
    analyzer: str = "static"
    # What the skill reads and must write, and its rules, each citing its lines.
    contract: Contract | None = None

    def requirements(self) -> list[tuple[Purpose, Requirement]]:
        return [(p, r) for p in self.purposes for r in p.current_path.primitives]

    def required_level(self, primitive: str) -> str | None:
        levels = [r.min_level for _, r in self.requirements() if r.id == primitive]
        return max(levels) if levels else None


GapType = Literal["missing", "weak", "unknown"]


class Gap(_Camel):
    purpose_id: str = Field(alias="purposeId")
    primitive_id: str = Field(alias="primitiveId")
    required_level: RequiredLevel = Field(alias="requiredLevel")
    model_level: Level | None = Field(alias="modelLevel")  # None: never profiled
    gap_type: GapType = Field(alias="gapType")
    severity: int  # level distance; 0 for unknown
    evidence: str
    lines: tuple[int, int] | None = None

    @property
    def label(self) -> str:
        have = self.model_level or "unprofiled"
        return f"{self.primitive_id} needs {self.required_level}, target has {have}"


class SourceMapEntry(_Camel):
    variant_lines: tuple[int, int] = Field(alias="variantLines")
    source_lines: tuple[int, int] | None = Field(alias="sourceLines")
    primitive_id: str | None = Field(default=None, alias="primitiveId")
    gap: str | None = None
    rule: str
    pass_id: str = Field(alias="pass")
