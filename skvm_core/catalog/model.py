"""Typed loader for the primitive catalog."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from skvm_core.errors import SkvmError

Level = Literal["L0", "L1", "L2", "L3"]
LEVELS: tuple[Level, ...] = ("L0", "L1", "L2", "L3")
Category = Literal["generation", "reasoning", "tool_use", "instruction_following"]
CATEGORIES: tuple[Category, ...] = ("generation", "reasoning", "tool_use", "instruction_following")
PRIMITIVE_ID = re.compile(r"^(gen|reason|tool|follow)\.\w+(\.\w+)?$")
_PREFIX_CATEGORY = {
    "gen": "generation",
    "reason": "reasoning",
    "tool": "tool_use",
    "follow": "instruction_following",
}


def level_index(level: str) -> int:
    """`"L2"` → 2. Raises SkvmError for anything that is not L0..L3."""
    if level not in LEVELS:
        raise SkvmError(f"unknown capability level {level!r}", hint="levels are L0, L1, L2, L3")
    return LEVELS.index(level)


class Primitive(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    id: str
    category: Category
    description: str
    L1: str
    L2: str
    L3: str
    degrade_3_2: str | None = Field(default=None, alias="degrade_3_2")
    degrade_2_1: str | None = Field(default=None, alias="degrade_2_1")

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not PRIMITIVE_ID.match(value):
            raise ValueError(f"primitive id {value!r} does not match {PRIMITIVE_ID.pattern}")
        return value

    def level_meaning(self, level: Level) -> str:
        return {"L0": "no level passed", "L1": self.L1, "L2": self.L2, "L3": self.L3}[level]

    def degradation(self, from_level: Level) -> str | None:
        """Guidance for meeting a `from_level` demand one level lower (None: substitute)."""
        return {"L3": self.degrade_3_2, "L2": self.degrade_2_1}.get(from_level)

    @property
    def degradations(self) -> dict[str, str | None]:
        """The reference's shape: `{"L3->L2": text, "L2->L1": text-or-null}`."""
        return {"L3->L2": self.degrade_3_2, "L2->L1": self.degrade_2_1}


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True)

    primitives: tuple[Primitive, ...]

    def ids(self) -> list[str]:
        return [p.id for p in self.primitives]

    def get(self, primitive_id: str) -> Primitive:
        for primitive in self.primitives:
            if primitive.id == primitive_id:
                return primitive
        raise SkvmError(
            f"unknown primitive {primitive_id!r}",
            hint="`skvm catalog` lists the 26 primitive ids",
        )

    def __contains__(self, primitive_id: object) -> bool:
        return any(p.id == primitive_id for p in self.primitives)

    def by_category(self, category: Category) -> list[Primitive]:
        return [p for p in self.primitives if p.category == category]


def parse_catalog(text: str, source: str = "<catalog>") -> Catalog:
    """Parse and check a catalog document; every problem is a SkvmError."""
    try:
        raw = tomllib.loads(text)
        catalog = Catalog(
            primitives=tuple(Primitive(**entry) for entry in raw.get("primitive", []))
        )
    except (tomllib.TOMLDecodeError, ValidationError, TypeError) as exc:
        raise SkvmError(f"invalid primitive catalog {source}: {exc}") from exc
    ids = catalog.ids()
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SkvmError(f"duplicate primitive ids in {source}: {', '.join(duplicates)}")
    for primitive in catalog.primitives:
        expected = _PREFIX_CATEGORY[primitive.id.split(".")[0]]
        if primitive.category != expected:
            raise SkvmError(
                f"primitive {primitive.id} has category {primitive.category}, expected {expected}"
            )
    return catalog


@cache
def load_catalog() -> Catalog:
    """The built-in catalog (parsed once per process)."""
    text = resources.files("skvm_core.catalog").joinpath("primitives.toml").read_text("utf-8")
    return parse_catalog(text, "primitives.toml")
