"""Solidification: repeated work of a skill on a target becomes a verified template that
runs without the model (candidates → shadow trials → promoted → demoted on failure)."""

from skvm_core.jit.model import JitState, Param, Step, Template, TemplateRecord, Trial
from skvm_core.jit.runtime import SHADOW_RUNS, refresh_candidates, run_solidified
from skvm_core.jit.store import JitStore

__all__ = [
    "SHADOW_RUNS",
    "JitState",
    "JitStore",
    "Param",
    "Step",
    "Template",
    "TemplateRecord",
    "Trial",
    "refresh_candidates",
    "run_solidified",
]
