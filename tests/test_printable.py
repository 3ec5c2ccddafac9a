"""What a run prints is shown, never obeyed: escape sequences in tool output, model text or
tool names reach no terminal as controls, and markup in them is text."""

import json

from skvm_core.agent.trace import ToolCallEvent, ToolResultEvent
from skvm_core.cli import main
from skvm_core.printable import printable, printable_value

TITLE = "\x1b]0;owned\x07"  # set the window title
CLIPBOARD = "\x1b]52;c;ZWNobyBoaQ==\x07"  # write the clipboard
HIDDEN = "\x1b[8mhidden\x1b[0m\x9b31m"


def test_controls_become_visible_and_newlines_and_tabs_stay():
    shown = printable(f"a{TITLE}b\tc\nd{HIDDEN}")
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert "␛]0;owned^G" in shown and "\tc\nd" in shown
    event = ToolResultEvent(run_id="r", call_id="c", name="x", output=CLIPBOARD)
    assert "\x1b" not in printable_value(event).output and event.output == CLIPBOARD


def test_trace_show_prints_no_escape_sequence_and_survives_markup_in_names(tmp_path, capsys):
    trace = tmp_path / "trace.jsonl"
    events = [
        ToolCallEvent(run_id="r", call_id="c", name="[/bold]", arguments={"cmd": TITLE}),
        ToolResultEvent(run_id="r", call_id="c", name="[/bold]", output=CLIPBOARD + HIDDEN),
    ]
    trace.write_text("".join(json.dumps(e.model_dump(mode="json")) + "\n" for e in events))
    assert main(["trace", "show", str(trace)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "[/bold]" in out and "␛]52;c;" in out


async def test_the_workbench_trace_pane_keeps_only_printable_text():
    from textual.app import App

    from skvm_tui.widgets.trace_pane import TracePane

    class Pane(App):
        def compose(self):
            yield TracePane()

    app = Pane()
    async with app.run_test():
        pane = app.query_one(TracePane)
        pane.add(ToolResultEvent(run_id="r", call_id="c", name="x", output=TITLE + "ok"))
        assert pane.pending[-1].output == "␛]0;owned^Gok"
