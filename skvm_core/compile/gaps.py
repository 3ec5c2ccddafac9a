"""Gap analysis: a pure comparison of the SCR with a target's profile."""

from __future__ import annotations

from skvm_core.catalog import level_index
from skvm_core.compile.model import SCR, Gap
from skvm_core.profile.tcp import TCP


def find_gaps(scr: SCR, tcp: TCP) -> list[Gap]:
    """Every requirement the target does not meet. An unprofiled primitive is reported as
    `unknown` (we cannot tell), never silently as L0."""
    gaps: list[Gap] = []
    for purpose, requirement in scr.requirements():
        have = tcp.level_of(requirement.id)
        need = level_index(requirement.min_level)
        if have is None:
            gaps.append(_gap(purpose.id, requirement, None, "unknown", 0))
            continue
        distance = need - level_index(have)
        if distance > 0:
            gaps.append(
                _gap(purpose.id, requirement, have, "missing" if have == "L0" else "weak", distance)
            )
    return gaps


def _gap(purpose: str, requirement, have, kind, severity) -> Gap:
    return Gap(
        purposeId=purpose,
        primitiveId=requirement.id,
        requiredLevel=requirement.min_level,
        modelLevel=have,
        gapType=kind,
        severity=severity,
        evidence=requirement.evidence,
        lines=requirement.lines,
    )
