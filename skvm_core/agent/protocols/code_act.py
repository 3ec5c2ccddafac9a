"""`code-act`: the model acts by writing code. Each turn is a short thought and one fenced
`bash` or `python` block, run in the sandbox exactly like `execute_command`; its output is
the next observation. `DONE` and a one-line answer end the run. For targets that write code
better than they fill in tool-call arguments."""

from __future__ import annotations

import re

from skvm_core.agent.history import OBSERVATION_PREFIX
from skvm_core.agent.protocols.base import ActionProtocol, ExampleAction, Turn
from skvm_core.agent.tools import ToolOutcome
from skvm_core.llm.grammar import code_act_grammar
from skvm_core.llm.types import Decoding, LLMResponse, Message, ToolCall, ToolSchema

_BLOCK = re.compile(
    r"```[ \t]*(bash|sh|shell|python|python3|py)[ \t]*\n(.*?)(?:```|$)", re.DOTALL | re.IGNORECASE
)
_DONE = re.compile(r"\bDONE\b[:.\s]*(.*)", re.DOTALL)
# A delimiter no program contains by accident; quoted, so the code reaches python as written.
_HEREDOC = "SKVM_PYTHON_BLOCK"


# First words that start a shell command line and never a Python statement.
_SHELL_STARTS = re.compile(
    r"^(?:python3?|bash|sh|cat|ls|head|tail|mkdir|cd|echo|grep|awk|sed|sort|uniq|wc|cut|cp|mv|"
    r"rm|touch|sqlite3|find|printf|chmod|\./)(?:\s|$)"
)


def looks_like_shell(code: str) -> bool:
    """A `python` block that holds shell commands (small models label blocks loosely): it
    does not parse as Python, and every line starts like a command."""
    try:
        compile(code, "<block>", "exec")
    except (SyntaxError, ValueError):
        lines = [line.strip() for line in code.splitlines() if line.strip()]
        return bool(lines) and all(_SHELL_STARTS.match(line) for line in lines)
    return False


def python_command(code: str) -> str:
    return f"python3 - <<'{_HEREDOC}'\n{code.rstrip()}\n{_HEREDOC}"


def example_block(example: ExampleAction) -> str:
    if example.tool == "execute_command":
        code = example.arguments["command"]
    elif example.tool == "read_file":
        code = f"cat {example.arguments['path']}"
    else:
        code = f"ls -la {example.arguments.get('path', '.')}"
    return f"```bash\n{code}\n```"


class CodeActProtocol(ActionProtocol):
    name = "code-act"

    def offered_tools(self, tools: list[ToolSchema]) -> list[ToolSchema]:
        return []  # the code block is the only action

    def instructions(self, tools: list[ToolSchema], example: ExampleAction | None) -> str:
        text = (
            "You act by writing code. Every reply is one short sentence of thought, then "
            "exactly one fenced code block, ```bash or ```python, which is run in the work "
            "folder; its output comes back to you before your next reply. A block runs once "
            "and is not saved: to create a file (a script the task asks for, or a result), "
            "write it from a bash block with cat > NAME <<'EOF' … EOF, or from python with "
            "open(NAME, 'w'), then run or check it. When the task is done and checked, reply "
            "DONE followed by a one-line answer."
        )
        if example is not None:
            text += f"\n\nExample reply (a good first step here):\n{example.thought}\n{example_block(example)}"
        return text

    def decoding(
        self, tools: list[ToolSchema], *, grammar_capable: bool, may_finish: bool = True
    ) -> Decoding | None:
        if not grammar_capable:
            return None  # API models: the block is read from free text
        return Decoding(grammar=code_act_grammar(may_finish=may_finish).gbnf())

    def interpret(self, response: LLMResponse) -> Turn:
        text = response.text
        match = _BLOCK.search(text)
        if match:
            language, code = match.group(1).lower(), match.group(2).strip("\n")
            thought = text[: match.start()].strip()
            if code.strip().splitlines()[0:1] == ["DONE"]:  # the end marker put in a block
                answer = code.strip().removeprefix("DONE").strip()
                return Turn(thought=thought, final=answer)
            if not code.strip():
                return Turn(thought=thought, problem="the code block is empty")
            is_shell = language in ("bash", "sh", "shell") or looks_like_shell(code)
            command = code if is_shell else python_command(code)
            call = ToolCall(id="code_0", name="execute_command", arguments={"command": command})
            return Turn(thought=thought, calls=[call])
        done = _DONE.search(text)
        if done:
            return Turn(thought=text[: done.start()].strip(), final=done.group(1).strip())
        return Turn(final=text.strip())

    def assistant_message(self, response: LLMResponse, turn: Turn) -> Message:
        return {"role": "assistant", "content": response.text}

    def result_messages(self, calls: list[ToolCall], outcomes: list[ToolOutcome]) -> list[Message]:
        return [
            {"role": "user", "content": f"{OBSERVATION_PREFIX}\n{outcome.output}"}
            for outcome in outcomes
        ]

    def no_action_reminder(self) -> str:
        return (
            "Nothing in the work folder has been created or changed yet. Reply with one fenced "
            "```bash or ```python block that does the next step of the task."
        )
