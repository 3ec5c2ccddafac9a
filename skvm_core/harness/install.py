"""Where the external harness CLIs live: npm packages at pinned versions in a folder of
their own (never a global install), found again by every command that runs them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from skvm_core.errors import SkvmError

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class HarnessCli:
    name: str  # our harness id
    package: str  # npm package
    version: str  # pinned
    binary: str  # its executable in node_modules/.bin


CLIS: dict[str, HarnessCli] = {
    "opencode": HarnessCli("opencode", "opencode-ai", "1.18.33", "opencode"),
    "codex": HarnessCli("codex", "@openai/codex", "0.169.0", "codex"),
    "claude-code": HarnessCli("claude-code", "@anthropic-ai/claude-code", "2.1.332", "claude"),
    "pi": HarnessCli("pi", "@mariozechner/pi-coding-agent", "0.73.1", "pi"),
}


def harness_dir() -> Path:
    """$SKVM_HARNESS_DIR, else the checkout's `.harnesses/` (what `make` installs), else the
    user's data folder (what `skvm harness install` fills outside a checkout)."""
    if os.environ.get("SKVM_HARNESS_DIR"):
        return Path(os.environ["SKVM_HARNESS_DIR"]).expanduser()
    local = REPO_ROOT / ".harnesses"
    if local.is_dir() or (REPO_ROOT / "pyproject.toml").is_file():
        return local
    from platformdirs import user_data_dir

    return Path(user_data_dir("skvm")) / "harnesses"


def binary_path(name: str) -> Path:
    cli = CLIS[name]
    return harness_dir() / "node_modules" / ".bin" / cli.binary


def installed_version(name: str) -> str | None:
    """The version the installed CLI reports, or None when it is missing or broken."""
    path = binary_path(name)
    if not path.exists():
        return None
    try:
        done = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    # `1.2.3`, `codex-cli 1.2.3` or `1.2.3 (Claude Code)`: the first word shaped like one.
    # pi prints its version on stderr.
    printed = (done.stdout or "") + " " + (done.stderr or "")
    words = [w for w in printed.split() if re.fullmatch(r"v?\d+(\.\d+)+\S*", w)]
    return words[0].removeprefix("v") if done.returncode == 0 and words else None


def require_cli(name: str) -> Path:
    path = binary_path(name)
    if not path.exists():
        cli = CLIS[name]
        raise SkvmError(
            f"the {name} harness is not installed ({cli.package}@{cli.version} in {harness_dir()})",
            hint="run `make harnesses` in a checkout, or `skvm harness install`",
        )
    return path


def install(names: list[str] | None = None) -> Path:
    """`npm install` the pinned CLIs into the harness folder (the user asked for it)."""
    npm = shutil.which("npm")
    if npm is None:
        raise SkvmError(
            "npm is not on PATH, so the harness CLIs cannot be installed",
            hint="install Node.js 20 or newer (it brings npm), then run this again",
        )
    folder = harness_dir()
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "package.json"
    if not manifest.exists():
        manifest.write_text('{"name": "skvm-harnesses", "private": true}\n', "utf-8")
    specs = [f"{CLIS[n].package}@{CLIS[n].version}" for n in (names or list(CLIS))]
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--save-exact", *specs],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SkvmError(
            f"npm could not install {', '.join(specs)}: {(done.stderr or done.stdout).strip()[-400:]}",
            hint="check that the npm registry is reachable",
        )
    return folder
