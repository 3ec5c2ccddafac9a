"""Load a skill folder into a `Skill`."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from skvm_core.errors import SkillError
from skvm_core.skill.frontmatter import parse_front_matter, split_front_matter
from skvm_core.skill.ir import build_ir
from skvm_core.skill.model import BundleFile, Diagnostic, Skill
from skvm_core.skill.validate import validate_body, validate_front_matter

SKILL_FILE = "SKILL.md"
MAX_SKILL_MD_BYTES = 1_000_000
MAX_BUNDLE_FILE_BYTES = 20_000_000
MAX_BUNDLE_TOTAL_BYTES = 100_000_000
MAX_BUNDLE_FILES = 2_000
_IGNORED_NAMES = {".git", "__pycache__", ".DS_Store", ".venv", "node_modules", ".skvm"}


def load_skill(folder: str | os.PathLike[str]) -> Skill:
    """Read, parse and validate the skill in `folder`.

    Raises SkillError when the folder cannot be read as a skill at all; rule violations
    that still allow loading are returned as `Skill.diagnostics`.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise SkillError(f"{root}: not a folder", hint="pass the folder that contains SKILL.md")
    root = root.resolve()
    skill_md = root / SKILL_FILE
    if not skill_md.is_file():
        lower = [p.name for p in root.iterdir() if p.name.lower() == "skill.md"]
        hint = (
            f"rename {lower[0]} to SKILL.md"
            if lower
            else "a skill folder must contain a SKILL.md file"
        )
        raise SkillError(f"{root}: no {SKILL_FILE}", hint=hint)
    _check_inside(root, skill_md)
    raw = skill_md.read_bytes()
    if len(raw) > MAX_SKILL_MD_BYTES:
        raise SkillError(
            f"{skill_md}: {len(raw):,} bytes is over the {MAX_SKILL_MD_BYTES:,}-byte limit",
            hint="move long material into references/ files",
        )
    source = _decode(raw, skill_md)
    split = split_front_matter(source, str(skill_md))
    front_matter, unknown = parse_front_matter(split.front_matter, str(skill_md))

    files = _scan_bundle(root)
    diagnostics: list[Diagnostic] = []
    diagnostics += validate_front_matter(front_matter, root.name, unknown)
    diagnostics += validate_body(split.body, split.body_start_line)
    return Skill(
        root=root,
        front_matter=front_matter,
        raw_front_matter=split.front_matter,
        body=split.body,
        body_start_line=split.body_start_line,
        source=source,
        files=tuple(files),
        ir=build_ir(split.body, split.body_start_line),
        content_hash=content_hash(raw, files),
        diagnostics=tuple(diagnostics),
    )


def content_hash(skill_md: bytes, files: list[BundleFile]) -> str:
    """sha256 over SKILL.md and every bundle file (path and content), order-independent."""
    digest = hashlib.sha256()
    digest.update(b"SKILL.md\0" + hashlib.sha256(skill_md).digest())
    for bundle_file in sorted(files, key=lambda f: f.path):
        digest.update(bundle_file.path.encode() + b"\0" + bytes.fromhex(bundle_file.sha256))
    return digest.hexdigest()


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SkillError(
            f"{path}: not UTF-8 text (byte {exc.start}, line {line})",
            hint="save the file as UTF-8",
        ) from exc


def _check_inside(root: Path, path: Path) -> Path:
    try:
        resolved = path.resolve(strict=False)
    except (RuntimeError, OSError) as exc:  # a symlink loop (RuntimeError before 3.13)
        raise SkillError(
            f"{path}: symlink loop or unreadable link ({exc})",
            hint="remove the link or point it at a file inside the skill folder",
        ) from exc
    if resolved != root and root not in resolved.parents:
        raise SkillError(
            f"{path}: symlink points outside the skill folder (to {resolved})",
            hint="copy the file into the skill folder instead of linking to it",
        )
    return resolved


def _scan_bundle(root: Path) -> list[BundleFile]:
    files: list[BundleFile] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        directory = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in _IGNORED_NAMES)
        for linked in [d for d in dirnames if (directory / d).is_symlink()]:
            _check_inside(root, directory / linked)
            dirnames.remove(linked)  # an inner link to a folder we already walk
        for filename in sorted(filenames):
            path = directory / filename
            if filename in _IGNORED_NAMES or path.relative_to(root).as_posix() == SKILL_FILE:
                continue
            resolved = _check_inside(root, path)
            if not resolved.is_file():
                continue  # sockets, fifos, dangling links inside the folder
            size = resolved.stat().st_size
            if size > MAX_BUNDLE_FILE_BYTES:
                raise SkillError(
                    f"{path}: {size:,} bytes is over the {MAX_BUNDLE_FILE_BYTES:,}-byte limit per file",
                    hint="keep large assets out of the skill or fetch them in a setup step",
                )
            total += size
            if total > MAX_BUNDLE_TOTAL_BYTES or len(files) >= MAX_BUNDLE_FILES:
                raise SkillError(
                    f"{root}: the skill bundle is over {MAX_BUNDLE_TOTAL_BYTES:,} bytes or {MAX_BUNDLE_FILES} files",
                    hint="remove build outputs and large assets from the skill folder",
                )
            data = resolved.read_bytes()
            files.append(
                BundleFile(
                    path=path.relative_to(root).as_posix(),
                    size=size,
                    is_text=_is_text(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                )
            )
    return files


def _is_text(data: bytes) -> bool:
    head = data[:8192]
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the 8 KiB boundary is still text.
        return exc.start >= len(head) - 3
    return True
