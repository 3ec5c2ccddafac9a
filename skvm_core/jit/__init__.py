"""Solidification: repeated work of a skill on a target becomes a verified template that
runs without the model (candidates → shadow trials → promoted → demoted on failure).

The package root holds only the data and its store, so reading the state stays cheap
(the workbench does it on the UI thread); the runtime is `skvm_core.jit.runtime`."""

from skvm_core.jit.model import JitState, Param, Step, Template, TemplateRecord, Trial
from skvm_core.jit.store import JitStore

__all__ = ["JitState", "JitStore", "Param", "Step", "Template", "TemplateRecord", "Trial"]
