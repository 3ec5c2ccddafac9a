"""Target Capability Profiles in the reference's JSON shape (`version: "1.0"`).

Published profiles load unchanged and write back byte-for-byte equivalent JSON: fields are
camelCase aliases, unknown fields are kept, and only fields that were set are written. Our
additions (seed, level policy, per-instance usage, confidence intervals) ride in extra
fields that the reference ignores.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from skvm_core.catalog import LEVELS, Level, level_index
from skvm_core.errors import SkvmError

TestLevel = Literal["L1", "L2", "L3"]


class ProfileError(SkvmError):
    """A profile file cannot be used."""


class _Camel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class TokenUsage(_Camel):
    input: int = 0
    output: int = 0
    cache_read: int = Field(default=0, alias="cacheRead")
    cache_write: int = Field(default=0, alias="cacheWrite")


class LevelResult(_Camel):
    level: TestLevel
    passed: bool
    pass_count: int = Field(alias="passCount", ge=0)
    total_count: int = Field(alias="totalCount", ge=0)
    skip_count: int = Field(default=0, alias="skipCount", ge=0)
    duration_ms: float = Field(default=0.0, alias="durationMs")
    cost_usd: float | None = Field(default=0.0, alias="costUsd")
    test_description: str = Field(default="", alias="testDescription")
    failure_details: list[str] = Field(default_factory=list, alias="failureDetails")

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """Wilson score interval for the pass rate over the non-skipped instances."""
        n = self.total_count - self.skip_count
        if n <= 0:
            return 0.0, 1.0
        p = self.pass_count / n
        denominator = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denominator
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
        return max(0.0, centre - half), min(1.0, centre + half)


class PrimitiveDetail(_Camel):
    primitive_id: str = Field(alias="primitiveId")
    highest_level: Level = Field(alias="highestLevel")
    level_results: list[LevelResult] = Field(default_factory=list, alias="levelResults")
    calibration_note: str | None = Field(default=None, alias="calibrationNote")

    def result(self, level: str) -> LevelResult | None:
        return next((r for r in self.level_results if r.level == level), None)


class ProfileCost(_Camel):
    total_usd: float | None = Field(default=0.0, alias="totalUsd")
    total_tokens: TokenUsage = Field(default_factory=TokenUsage, alias="totalTokens")
    duration_ms: float = Field(default=0.0, alias="durationMs")


class TCP(_Camel):
    version: Literal["1.0"] = "1.0"
    model: str
    # A folder name in the profile store: a name, never a path.
    harness: str = Field(default="bare-agent", pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
    profiled_at: str = Field(alias="profiledAt")
    capabilities: dict[str, Level] = Field(default_factory=dict)
    details: list[PrimitiveDetail] = Field(default_factory=list)
    cost: ProfileCost = Field(default_factory=ProfileCost)
    is_partial: bool = Field(default=False, alias="isPartial")

    @property
    def protocol(self) -> str:
        """The action protocol the profile was measured under (our extension field);
        published and older profiles used the model's own tool-call format: native."""
        value = (self.__pydantic_extra__ or {}).get("protocol")
        return value if isinstance(value, str) and value else "native"

    @field_validator("model")
    @classmethod
    def _model_is_a_name(cls, value: str) -> str:
        if not value.strip() or "\0" in value or value.strip(". /") == "":
            raise ValueError("model must name a model, e.g. openai/gpt-4o")
        return value

    @field_validator("capabilities")
    @classmethod
    def _known_levels(cls, value: dict[str, str]) -> dict[str, str]:
        for primitive, level in value.items():
            if level not in LEVELS:
                raise ValueError(f"{primitive}: level {level!r} is not one of L0..L3")
        return value

    def level_of(self, primitive_id: str) -> Level | None:
        """The profiled level, or None when this primitive was never profiled (unknown ≠ L0)."""
        return self.capabilities.get(primitive_id)

    def level_number(self, primitive_id: str) -> int | None:
        level = self.level_of(primitive_id)
        return None if level is None else level_index(level)

    def detail(self, primitive_id: str) -> PrimitiveDetail | None:
        return next((d for d in self.details if d.primitive_id == primitive_id), None)

    @property
    def version_key(self) -> str:
        """Identifies this profile's content for cache keys (model, harness, time, levels)."""
        import hashlib

        payload = json.dumps(
            [self.model, self.harness, self.profiled_at, sorted(self.capabilities.items())]
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def to_json(self) -> str:
        return (
            json.dumps(self.model_dump(mode="json", by_alias=True, exclude_unset=True), indent=2)
            + "\n"
        )


def parse_tcp(text: str, source: str = "<profile>") -> TCP:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{source}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: a profile must be a JSON object")
    try:
        return TCP.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProfileError(
            f"{source}: `{where}`: {first['msg']}", hint="is this a SkVM TCP (version 1.0) file?"
        ) from exc


def load_tcp(path: str | Path) -> TCP:
    file = Path(path).expanduser()
    try:
        text = file.read_text("utf-8")
    except OSError as exc:
        raise ProfileError(f"cannot read profile {file}: {exc}") from exc
    return parse_tcp(text, str(file))
