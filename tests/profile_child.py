"""Child process for the kill-and-resume test: profiles a deterministic scripted model,
printing one line per finished instance (the parent reads them to know when to kill)."""

import asyncio
import hashlib
import json
import sys
from pathlib import Path

from skvm_core.llm import ScriptedModel, ScriptedTurn, register_scripted
from skvm_core.profile.runner import ProfileOptions, Profiler
from skvm_core.store.workspace import Workspace


def answer(messages, tools):
    # Deterministic by prompt: some instances "pass" by luck of the draw, most fail.
    prompt = next(m["content"] for m in messages if m["role"] == "user")
    digit = int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 10
    return ScriptedTurn(text=f"Answer: {digit}\nYes\n{digit}", latency_s=0.02)


def main() -> None:
    workspace, primitives, out = Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
    model = register_scripted(ScriptedModel(answer), name="deterministic")
    options = ProfileOptions(model=model, primitives=primitives, instances=2, seed=5, concurrency=2)

    def progress(record, done, total):
        print(f"done {record.key}", flush=True)

    profiler = Profiler(options, Workspace(workspace), progress)
    tcp = asyncio.run(profiler.run(resume=True))
    Path(out).write_text(
        json.dumps(
            {
                "tcp": tcp.model_dump(mode="json", by_alias=True),
                "executed": profiler.executed,
                "reused": profiler.reused,
            }
        )
    )


if __name__ == "__main__":
    main()
