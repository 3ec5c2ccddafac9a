"""Where runs, traces and caches live on disk (the workspace, `SKVM_HOME`)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def default(cls) -> Workspace:
        from skvm_core.config import load_config

        return cls(load_config().workspace_dir())

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def compile_cache(self) -> Path:
        """Compiled variants and synthesis results, keyed by content."""
        return self.root / "cache" / "compile"

    def new_run_id(self, label: str = "run") -> str:
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)[:40] or "run"
        return f"{time.strftime('%Y%m%d-%H%M%S')}-{safe}-{secrets.token_hex(3)}"

    def run_dir(self, run_id: str) -> Path:
        path = self.runs / run_id
        path.mkdir(parents=True, exist_ok=True)
        return path
