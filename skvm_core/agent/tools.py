"""The bare agent's tools, confined to the run's work dir.

Limits (also stated in each tool's description, so the model knows them):
- read_file: up to 2,000 lines or 64 KB per call; `offset`/`limit` page through larger files.
- write_file: up to 1 MB per call; parent folders are created.
- list_directory: up to 500 entries.
- execute_command: bash in the work dir, sandboxed; default 60 s timeout (at most the run's
  command limit), 16 KB of output kept per stream.
- web_fetch: HTTP(S) GET to the hosts the task allows (none by default); 200 KB,
  20 s, redirects only to allowed hosts.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skvm_core.agent.sandbox import SandboxMode, run_command
from skvm_core.llm.types import ToolSchema

READ_MAX_LINES = 2000
READ_MAX_BYTES = 64_000
WRITE_MAX_BYTES = 1_000_000
FILE_MAX_BYTES = 256 * 2**20  # as the commands' file size limit (ulimit -f)
WORK_QUOTA_BYTES = 1024 * 2**20  # what write_file may fill a work folder to
LIST_MAX_ENTRIES = 500
COMMAND_OUTPUT_CAP = 16_000
FETCH_MAX_BYTES = 200_000
FETCH_TIMEOUT_S = 20.0
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class ToolError(Exception):
    """A refused or failed tool call; its message is shown to the model."""


@dataclass
class ToolOutcome:
    output: str
    ok: bool = True
    exit_code: int | None = None
    truncated: bool = False
    error: str | None = None
    duration_ms: float = 0.0


@dataclass
class ToolContext:
    work_dir: Path
    command_timeout_s: float = 60.0
    allowed_hosts: tuple[str, ...] = ()
    sandbox: SandboxMode | None = None
    skill_body: str | None = None  # delivered by load_skill in discover mode
    skill_name: str | None = None
    skill_loaded: bool = False


def confine(work_dir: Path, raw: Any) -> Path:
    """Resolve `raw` inside `work_dir`, refusing anything that would leave it."""
    if not isinstance(raw, str) or not raw.strip():
        raise ToolError("path must be a non-empty string")
    if "\0" in raw:
        raise ToolError("path contains a NUL byte")
    root = work_dir.resolve()
    candidate = Path(raw.strip())
    full = candidate if candidate.is_absolute() else root / candidate
    resolved = full.resolve()  # follows symlinks, so a link pointing outside is caught too
    if resolved != root and root not in resolved.parents:
        raise ToolError(
            f"access denied: {raw!r} is outside the work folder; use paths relative to it"
        )
    return resolved


def _relative(work_dir: Path, path: Path) -> str:
    return path.relative_to(work_dir.resolve()).as_posix() or "."


def open_regular(path: Path, flags: int, mode: int = 0o644) -> int:
    """Open `path` only if it is a regular file: never follows a last-component link, and
    a FIFO, device or socket is refused at once instead of blocking the run."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ELOOP, errno.EWOULDBLOCK):
            raise ToolError(f"{path.name} is not a regular file") from exc
        raise ToolError(f"cannot open {path.name}: {exc.strerror}") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ToolError(f"{path.name} is not a regular file (a folder, FIFO, device or socket)")
    return fd


def _read_page(path: Path, offset: int, limit: int) -> tuple[bytes, int, bool, int]:
    """Lines offset..offset+limit-1, at most READ_MAX_BYTES of them, reading the file as a
    stream: memory stays bounded whatever its size. Returns (data, lines, more, size)."""
    fd = open_regular(path, os.O_RDONLY)
    with os.fdopen(fd, "rb", buffering=65536) as handle:
        size = os.fstat(handle.fileno()).st_size
        for _ in range(offset - 1):
            line = handle.readline(READ_MAX_BYTES + 1)
            if not line:
                return b"", 0, False, size
            while line and not line.endswith(b"\n"):  # a very long line: skip all of it
                line = handle.readline(READ_MAX_BYTES + 1)
        kept, count, more = bytearray(), 0, False
        while count < limit:
            line = handle.readline(READ_MAX_BYTES + 1 - len(kept))
            if not line:
                break
            kept += line
            count += 1
            if len(kept) >= READ_MAX_BYTES:
                more = True
                break
        if not more:
            more = bool(handle.read(1))
    return bytes(kept[:READ_MAX_BYTES]), count, more, size


async def read_file(ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    path = confine(ctx.work_dir, args.get("path"))
    if not path.exists():
        raise ToolError(f"no such file: {args.get('path')}")
    offset = max(1, int(args.get("offset") or 1))
    limit = min(READ_MAX_LINES, max(1, int(args.get("limit") or READ_MAX_LINES)))
    data, count, more, size = await asyncio.to_thread(_read_page, path, offset, limit)
    if b"\0" in data[:8192]:
        return ToolOutcome(f"{_relative(ctx.work_dir, path)} is a binary file ({size:,} bytes)")
    text = data.decode("utf-8", errors="replace")
    if more:
        text += f"\n[truncated: the file has {size:,} bytes; continue with offset={offset + count}]"
    return ToolOutcome(text, truncated=more)


def _write(path: Path, data: bytes, append: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = open_regular(path, flags)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


async def write_file(ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    path = confine(ctx.work_dir, args.get("path"))
    content = args.get("content")
    if not isinstance(content, str):
        raise ToolError("content must be a string")
    data = content.encode("utf-8")
    if len(data) > WRITE_MAX_BYTES:
        raise ToolError(
            f"content is {len(data):,} bytes; the limit is {WRITE_MAX_BYTES:,} per call (use append)"
        )
    if path.is_dir():
        raise ToolError(f"{args.get('path')} is a folder")
    append = bool(args.get("append"))
    existing = path.stat().st_size if append and path.is_file() else 0
    if existing + len(data) > FILE_MAX_BYTES:
        raise ToolError(
            f"{args.get('path')} would grow past {FILE_MAX_BYTES // 2**20} MiB, the limit for one file"
        )
    used = await asyncio.to_thread(_folder_bytes, ctx.work_dir)
    if used + len(data) > WORK_QUOTA_BYTES:
        raise ToolError(
            f"the work folder holds {used:,} bytes; writing {len(data):,} more would pass its "
            f"{WORK_QUOTA_BYTES // 2**20} MiB quota"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(_write, path, data, append)
    return ToolOutcome(f"wrote {len(data):,} bytes to {_relative(ctx.work_dir, path)}")


def _folder_bytes(root: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root, followlinks=False):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


async def list_directory(ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    path = confine(ctx.work_dir, args.get("path") or ".")
    if not path.is_dir():
        raise ToolError(f"no such folder: {args.get('path')}")
    entries = sorted(path.iterdir(), key=lambda p: p.name)
    lines = []
    for entry in entries[:LIST_MAX_ENTRIES]:
        if entry.is_dir():
            lines.append(f"{entry.name}/")
        else:
            size = entry.lstat().st_size
            lines.append(f"{entry.name}  ({size:,} bytes)")
    if len(entries) > LIST_MAX_ENTRIES:
        lines.append(f"[{len(entries) - LIST_MAX_ENTRIES} more entries not shown]")
    return ToolOutcome(
        "\n".join(lines) or "(empty folder)", truncated=len(entries) > LIST_MAX_ENTRIES
    )


async def execute_command(ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    command = args.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ToolError("command must be a non-empty string")
    requested = args.get("timeout_s")
    timeout = ctx.command_timeout_s
    if isinstance(requested, int | float) and requested > 0:
        timeout = min(float(requested), ctx.command_timeout_s)
    result = await run_command(
        command, ctx.work_dir, timeout_s=timeout, output_cap=COMMAND_OUTPUT_CAP, mode=ctx.sandbox
    )
    return ToolOutcome(
        result.render(),
        ok=result.exit_code == 0 and not result.timed_out,
        exit_code=result.exit_code,
        truncated=result.truncated or result.flooded,
        error="timed out" if result.timed_out else None,
    )


class _AllowedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allowed = allowed

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        _check_url(newurl, self.allowed)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _check_url(url: str, allowed: tuple[str, ...]) -> None:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https"):
        raise ToolError(
            f"only http and https URLs can be fetched, not {parsed.scheme or 'a bare path'}"
        )
    host = (parsed.hostname or "").lower()
    if host not in allowed:
        raise ToolError(
            f"host {host or '?'} is not allowed for this run (allowed: {', '.join(allowed) or 'none'})"
        )
    _check_addresses(host, parsed.port or (443 if parsed.scheme == "https" else 80))


def _check_addresses(host: str, port: int) -> None:
    """An allowed name must resolve to public addresses only: a name the task allows could
    point at loopback, the local network or a cloud metadata service. An address written
    as the allowed host itself (a test server on 127.0.0.1) is the task's explicit choice."""
    import ipaddress
    import socket

    if host == "localhost" or host.endswith(".localhost"):
        return  # loopback by name: allowing it is choosing loopback
    try:
        ipaddress.ip_address(host.strip("[]"))
        return
    except ValueError:
        pass
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except OSError as exc:
        raise ToolError(f"fetch failed: {host} does not resolve ({exc})") from exc
    for address in found:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            raise ToolError(
                f"host {host} resolves to {address}, a local or private address; it is not fetched"
            )


def _fetch(url: str, allowed: tuple[str, ...]) -> ToolOutcome:
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _AllowedRedirects(allowed)
    )
    request = urllib.request.Request(url, headers={"User-Agent": "skvm-agent/0.1"})
    try:
        with opener.open(request, timeout=FETCH_TIMEOUT_S) as response:
            body = response.read(FETCH_MAX_BYTES + 1)
            status = response.status
            kind = response.headers.get("content-type", "")
    except urllib.error.HTTPError as exc:
        body = exc.read(FETCH_MAX_BYTES + 1)
        return ToolOutcome(
            f"HTTP {exc.code}\n{body.decode('utf-8', errors='replace')}",
            ok=False,
            exit_code=exc.code,
        )
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ToolError(f"fetch failed: {getattr(exc, 'reason', exc)}") from exc
    truncated = len(body) > FETCH_MAX_BYTES
    text = body[:FETCH_MAX_BYTES].decode("utf-8", errors="replace")
    return ToolOutcome(
        f"HTTP {status} ({kind})\n{text}" + ("\n[truncated]" if truncated else ""),
        exit_code=status,
        truncated=truncated,
    )


async def web_fetch(ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    url = args.get("url")
    if not isinstance(url, str):
        raise ToolError("url must be a string")
    _check_url(url, ctx.allowed_hosts)
    return await asyncio.to_thread(_fetch, url, ctx.allowed_hosts)


async def load_skill_tool(ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    name = args.get("name")
    if ctx.skill_body is None or name != ctx.skill_name:
        raise ToolError(f"no skill named {name!r}; available: {ctx.skill_name or 'none'}")
    ctx.skill_loaded = True
    return ToolOutcome(ctx.skill_body)


_PATH = {"type": "string", "description": "path relative to the work folder"}
ToolFn = Callable[[ToolContext, dict[str, Any]], Awaitable[ToolOutcome]]
TOOLS: dict[str, tuple[ToolSchema, ToolFn]] = {
    "read_file": (
        ToolSchema(
            name="read_file",
            description=f"Read a text file. Returns at most {READ_MAX_LINES} lines or {READ_MAX_BYTES // 1000} KB; use offset (1-based line) and limit to page.",
            parameters={
                "type": "object",
                "properties": {
                    "path": _PATH,
                    "offset": {"type": "integer"},
                    "limit": {"type": "integer"},
                },
                "required": ["path"],
            },
        ),
        read_file,
    ),
    "write_file": (
        ToolSchema(
            name="write_file",
            description="Write text to a file (created with its folders, replaced unless append is true). At most 1 MB per call.",
            parameters={
                "type": "object",
                "properties": {
                    "path": _PATH,
                    "content": {"type": "string"},
                    "append": {"type": "boolean"},
                },
                "required": ["path", "content"],
            },
        ),
        write_file,
    ),
    "list_directory": (
        ToolSchema(
            name="list_directory",
            description=f"List a folder's entries with sizes (at most {LIST_MAX_ENTRIES}).",
            parameters={"type": "object", "properties": {"path": _PATH}},
        ),
        list_directory,
    ),
    "execute_command": (
        ToolSchema(
            name="execute_command",
            description="Run a bash command in the work folder and return its output and exit code. No network; output is capped; long commands time out.",
            parameters={
                "type": "object",
                "properties": {"command": {"type": "string"}, "timeout_s": {"type": "number"}},
                "required": ["command"],
            },
        ),
        execute_command,
    ),
    "web_fetch": (
        ToolSchema(
            name="web_fetch",
            description="HTTP GET a URL and return the status and body (at most 200 KB). Only hosts allowed for the task can be reached.",
            parameters={
                "type": "object",
                "properties": {"url": {"type": "string"}},
                "required": ["url"],
            },
        ),
        web_fetch,
    ),
}
# Tools that change nothing in the work folder: several of them may run at once.
READ_ONLY_TOOLS = frozenset({"read_file", "list_directory", "web_fetch", "load_skill"})
LOAD_SKILL = (
    ToolSchema(
        name="load_skill",
        description="Load the full instructions of an available skill by name.",
        parameters={
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
        },
    ),
    load_skill_tool,
)


async def call_tool(name: str, fn: ToolFn, ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    """Run one tool; refusals and crashes become error outcomes the model can read."""
    started = time.perf_counter()
    try:
        outcome = await fn(ctx, args)
    except ToolError as exc:
        outcome = ToolOutcome(f"error: {exc}", ok=False, error=str(exc))
    except (ValueError, TypeError) as exc:
        outcome = ToolOutcome(
            f"error: bad arguments for {name}: {exc}", ok=False, error=f"bad arguments: {exc}"
        )
    except Exception as exc:  # a bug or OS error inside the tool: reported, the run goes on
        outcome = ToolOutcome(
            f"error: {name} failed: {type(exc).__name__}: {exc}",
            ok=False,
            error=f"{type(exc).__name__}: {exc}",
        )
    outcome.duration_ms = (time.perf_counter() - started) * 1000
    return outcome
