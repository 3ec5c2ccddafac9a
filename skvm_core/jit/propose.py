"""An optional proposer: a model (any litellm id) writes the whole job for one task as a
script, which is generalised like a passing run's commands. Its candidate earns trust the
same way as any other: shadow trials graded on the target that will use it."""

from __future__ import annotations

import re
from pathlib import Path

from skvm_core.agent.result import AgentStep, ToolStep
from skvm_core.errors import SkvmError
from skvm_core.jit.bind import file_heads, folder_files
from skvm_core.jit.harvest import PassingRun, generalise, merge
from skvm_core.jit.model import Template
from skvm_core.llm.types import ToolCall
from skvm_core.run.task import Task
from skvm_core.skill import Skill

_BLOCK = re.compile(r"```(?:bash|sh|shell)?[ \t]*\n(.*?)```", re.DOTALL)


def proposal_prompt(skill: Skill, task: Task, folder: Path) -> str:
    files = folder_files(folder)
    listing = "\n".join(f"- {name}" for name in files) or "(empty)"
    return (
        f"# Skill: {skill.name}\n\n{skill.body.strip()}\n\n"
        f"# Work folder\n{listing}\n\nStart of each file:\n{file_heads(folder, files)[:2000]}\n\n"
        f"# Task\n{task.prompt}\n\n"
        "Write one bash script that does this whole task in the work folder, following the "
        "skill, with the task's own file names and values written out. Reply with the script "
        "in one ```bash block and nothing else."
    )


async def propose(skill: Skill, task: Task, folder: Path, model: str) -> Template:
    """A candidate template from `model`'s script for `task` (set up in `folder`)."""
    from skvm_core.llm import CallOptions, complete

    messages = [
        {"role": "system", "content": "You write short, correct bash scripts."},
        {"role": "user", "content": proposal_prompt(skill, task, folder)},
    ]
    response = await complete(model, messages, options=CallOptions(max_tokens=1024))
    match = _BLOCK.search(response.text)
    script = (match.group(1) if match else "").strip()
    if not script:
        raise SkvmError(
            f"{model} answered without a bash block", hint="try a stronger proposer model"
        )
    call = ToolCall(id="proposal", name="execute_command", arguments={"command": script})
    step = AgentStep(index=0, tools=[ToolStep(call=call, output="", ok=True, exit_code=0)])
    template = generalise(PassingRun(f"llm:{model}", skill.name, task.prompt, [step]), skill)
    if template is None or not template.params:
        raise SkvmError(
            f"{model}'s script uses none of the task's values, so it cannot serve other tasks",
            hint="try another task or a stronger proposer model",
        )
    return merge([template])[0].model_copy(update={"source": "llm"})
