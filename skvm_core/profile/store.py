"""Where profiles are found: the workspace first, then the profiles shipped with the project."""

from __future__ import annotations

from pathlib import Path

from skvm_core.agent.protocols import ProtocolDecision, resolve_protocol
from skvm_core.profile.runner import HARNESS, profile_folder
from skvm_core.profile.tcp import TCP, ProfileError, load_tcp
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.workspace import Workspace

BUNDLED = Path(__file__).resolve().parents[2] / "profiles"


def profile_roots(workspace: Workspace) -> list[Path]:
    return [workspace.root / "profiles", BUNDLED]


def find_profile(
    model: str, workspace: Workspace, harness: str = HARNESS, protocol: str | None = None
) -> Path | None:
    """The latest profile of `model` under `protocol`, falling back to its native profile
    (what the model does with its own tool-call format) when none was measured under it."""
    from skvm_core.harness import split_target
    from skvm_core.profile.runner import profile_harness

    model, in_harness = split_target(model)  # a target may name its harness: model+opencode
    # A model not yet profiled in its harness falls back to what our own agent measured
    # (the profile's `harness` field says which it is).
    harnesses = [harness] if in_harness == "bare" else [profile_harness(in_harness), harness]
    wanted = [protocol, "native"] if protocol not in (None, "", "native") else ["native"]
    for each in harnesses:
        for chosen in wanted:
            for root in profile_roots(workspace):
                path = profile_folder(root, each, model, chosen) / "latest.json"
                if path.is_file():
                    return path
    return None


def load_profile(model_or_path: str, workspace: Workspace) -> TCP:
    """A profile by file path, or the latest one for a model id."""
    candidate = Path(model_or_path).expanduser()
    if candidate.suffix == ".json" and candidate.is_file():
        return load_tcp(candidate)
    found = find_profile(model_or_path, workspace)
    if found is None:
        raise ProfileError(
            f"no profile for {model_or_path}",
            hint=f"run `skvm profile --model {model_or_path}` or `skvm profile import FILE`",
        )
    return load_tcp(found)


def import_profile(path: str | Path, workspace: Workspace) -> Path:
    tcp = load_tcp(path)
    folder = profile_folder(workspace.root / "profiles", tcp.harness, tcp.model, tcp.protocol)
    target = (
        folder / Path(path).name if Path(path).name.startswith("v_") else folder / "imported.json"
    )
    original = Path(path).read_text("utf-8")
    atomic_write_text(target, original)
    atomic_write_text(folder / "latest.json", original)
    return folder / "latest.json"


def list_profiles(workspace: Workspace) -> list[tuple[Path, TCP]]:
    found = []
    for root in profile_roots(workspace):
        paths = sorted([*root.glob("*/*/latest.json"), *root.glob("*/*/*/latest.json")])
        for path in paths:
            try:
                found.append((path, load_tcp(path)))
            except ProfileError:
                continue
    return found


def target_protocol(model: str, requested: str, workspace: Workspace) -> ProtocolDecision:
    """The protocol a run of `model` uses: `auto` reads the model's native profile (what it
    does unaided), a named protocol is taken as asked."""
    if requested != "auto":
        return resolve_protocol(requested, model, None)
    found = find_profile(model, workspace)
    capabilities = None
    if found is not None:
        try:
            capabilities = dict(load_tcp(found).capabilities)
        except ProfileError:
            capabilities = None
    return resolve_protocol("auto", model, capabilities)


def profile_for_protocol(model: str, requested: str, workspace: Workspace) -> TCP:
    """The profile to compile for when `model` runs under `requested` (auto resolved):
    the one measured under that protocol, else the native one."""
    decision = target_protocol(model, requested, workspace)
    found = find_profile(model, workspace, protocol=decision.protocol)
    if found is None:
        raise ProfileError(
            f"no profile for {model}",
            hint=f"run `skvm profile --model {model}` or `skvm profile import FILE`",
        )
    return load_tcp(found)
