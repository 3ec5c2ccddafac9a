"""Write a compiled variant to disk: the skill folder plus its compile artifacts.

The artifacts (meta.json, source_map.json, scr.json, env-setup.sh, workflow.json,
build.json) live in the variant's `.skvm/` folder, which the skill loader skips, so running
the variant never hands them to the agent as bundle files. Everything but `build.json` is
deterministic: compiling the same inputs twice gives byte-identical files. Variants are
keyed by skill content hash and profile version.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
from pathlib import Path

from skvm_core.compile.pipeline import CompileResult
from skvm_core.errors import SkvmError
from skvm_core.profile.runner import slug
from skvm_core.store.workspace import Workspace

COMPILER_VERSION = "2"
ARTIFACTS = ".skvm"


def variant_dir(workspace: Workspace, result: CompileResult) -> Path:
    # Keyed by the passes' cache keys (pass ids and versions, skill, profile and options), so
    # another pass set or a newer compiler never reuses a variant written by the old one.
    build = hashlib.sha256("|".join(r.key for r in result.records).encode()).hexdigest()
    key = f"{result.skill.content_hash[:12]}-{build[:12]}"
    return workspace.root / "variants" / result.skill.name / slug(result.tcp.model) / key


def _json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def check_output_folder(out: Path, skill_root: Path, *, force: bool = False) -> None:
    """Refuse to replace anything but a variant we wrote: never a file, never the skill's
    own folder (or one holding it), never a non-empty folder of someone else's, unless
    forced (and a file or the skill itself not even then)."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise SkvmError(f"{out} is not a folder", hint="give --out a folder path")
    target, source = out.resolve(), skill_root.resolve()
    if target == source or target in source.parents:
        raise SkvmError(
            f"{out} is the skill's own folder (or holds it); compiling there would replace the skill",
            hint="choose another --out folder",
        )
    if not out.exists() or not any(out.iterdir()):
        return
    if (out / ARTIFACTS / "meta.json").is_file() or force:
        return
    raise SkvmError(
        f"{out} is not empty and is not a variant written by skvm; it would be replaced",
        hint="choose an empty or new folder, or pass --force to replace it",
    )


def write_variant(result: CompileResult, out: Path) -> Path:
    """Write the variant folder (replacing an older one at the same place)."""
    skill = result.skill
    out.parent.mkdir(parents=True, exist_ok=True)
    # A private staging folder per writer: two runs may write the same variant at once.
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    for bundle_file in skill.files:
        target = staging / bundle_file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(skill.root / bundle_file.path, target)
    variant = result.variant
    (staging / "SKILL.md").write_text(variant.text if variant else skill.source, "utf-8")
    for relative, text in (variant.files if variant else {}).items():
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
    meta_dir = staging / ARTIFACTS
    meta_dir.mkdir()
    artifacts = result.artifacts
    meta = {
        "compiler": COMPILER_VERSION,
        "skill": {"name": skill.name, "contentHash": skill.content_hash},
        "target": {
            "model": result.tcp.model,
            "harness": result.tcp.harness,
            "profileVersion": result.tcp.version_key,
            "profiledAt": result.tcp.profiled_at,
        },
        "options": result.options,
        "passes": [
            {"id": r.id, "key": r.key, "error": r.error, "skipped": r.skipped}
            for r in result.records
        ],
        "gaps": [g.model_dump(mode="json", by_alias=True) for g in result.gaps],
        "compensated": variant.gaps_compensated if variant else [],
        "guard": {
            "satisfied": not (variant.guard_violations if variant else []),
            "violations": variant.guard_violations if variant else [],
        },
        "protocol": {"name": result.protocol.protocol, "reason": result.protocol.reason},
        "tools": list(result.tools.names),
        "analyzer": artifacts["analyze"].analyzer if "analyze" in artifacts else None,
        "rewrite": artifacts["rewrite"].mode if "rewrite" in artifacts else None,
        "lowering": _lowering_meta(result),
    }
    (meta_dir / "meta.json").write_text(_json(meta), "utf-8")
    (meta_dir / "source_map.json").write_text(
        _json(
            [
                e.model_dump(mode="json", by_alias=True)
                for e in (variant.source_map if variant else [])
            ]
        ),
        "utf-8",
    )
    if "analyze" in artifacts:
        (meta_dir / "scr.json").write_text(
            _json(artifacts["analyze"].model_dump(mode="json", by_alias=True)), "utf-8"
        )
    if artifacts.get("bind_env") is not None:
        (meta_dir / "env-setup.sh").write_text(artifacts["bind_env"].script, "utf-8")
        (meta_dir / "env-setup.sh").chmod(0o755)
    if "parallelism" in artifacts:
        workflow = artifacts["parallelism"]
        (meta_dir / "workflow.json").write_text(
            _json(workflow.model_dump(mode="json", by_alias=True) if workflow else None), "utf-8"
        )
    build = {
        "passes": [
            {"id": r.id, "ms": round(r.ms, 2), "cached": r.cached, "usage": r.usage.model_dump()}
            for r in result.records
        ]
    }
    (meta_dir / "build.json").write_text(_json(build), "utf-8")
    with _lock_for(out):
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            out.rename(retired / "variant")
            shutil.rmtree(retired, ignore_errors=True)
        staging.rename(out)
    return out


def _lowering_meta(result: CompileResult) -> dict | None:
    lowering = result.artifacts.get("lower")
    if lowering is None:
        return None
    scripts = [
        {
            "script": h.script,
            "origin": h.origin,
            "checks": [c.model_dump(exclude={"output"}) for c in h.checks],
            "loop": h.loop.verification.model_dump(exclude={"output"}) if h.loop else None,
        }
        for h in result.artifacts.get("executable") or []
    ]
    variant = result.variant
    return {
        "lowered": bool(variant and variant.lowered),
        "reason": lowering.reason,
        "scripts": scripts,
        "replaced": variant.replaced if variant else [],
        "synthesis": lowering.synthesis.model_dump(mode="json", exclude={"script", "examples"})
        if lowering.synthesis
        else None,
    }


def materialize_variant(result: CompileResult, workspace: Workspace) -> Path:
    """The variant's folder in the workspace, written once and then reused as is.

    The folder is keyed by skill content and profile version, so an existing one already
    holds this variant; leaving it in place means a run reading it is never disturbed by
    another run that needs the same variant.
    """
    out = variant_dir(workspace, result)
    with _lock_for(out):
        if (out / ARTIFACTS / "meta.json").is_file():
            return out
        return write_variant(result, out)


_locks: dict[Path, threading.RLock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.RLock:
    with _locks_guard:
        return _locks.setdefault(path.resolve(), threading.RLock())
