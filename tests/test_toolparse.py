import json

from hypothesis import given
from hypothesis import strategies as st

from skvm_core.llm.toolparse import decode_native_arguments, parse_tool_calls

NAMES = ["read_file", "write_file"]


def test_tool_call_tags():
    text = (
        'Reading.\n<tool_call>\n{"name": "read_file", "arguments": {"path": "a.txt"}}\n</tool_call>'
    )
    parsed = parse_tool_calls(text, NAMES)
    assert [(c.name, c.arguments) for c in parsed.calls] == [("read_file", {"path": "a.txt"})]
    assert parsed.repairs == ["tool_call_tags"]
    assert parsed.text == "Reading."


def test_unclosed_tag_at_end_of_output():
    parsed = parse_tool_calls(
        '<tool_call>\n{"name": "read_file", "arguments": {"path": "x"}}', NAMES
    )
    assert parsed.calls[0].arguments == {"path": "x"}


def test_fenced_json_with_function_wrapper_and_string_arguments():
    args = json.dumps({"path": "o.txt", "content": "hi"})
    text = (
        "```json\n" + json.dumps({"function": {"name": "write_file", "arguments": args}}) + "\n```"
    )
    parsed = parse_tool_calls(text, NAMES)
    assert parsed.calls[0].name == "write_file"
    assert parsed.calls[0].arguments == {"path": "o.txt", "content": "hi"}
    assert parsed.repairs == ["fenced_json", "function_wrapper", "arguments_string"]


def test_bare_objects_and_lists_of_calls():
    text = '[{"name": "read_file", "arguments": {"path": "a"}}, {"name": "read_file", "arguments": {"path": "b"}}]'
    parsed = parse_tool_calls(text, NAMES)
    assert [c.arguments["path"] for c in parsed.calls] == ["a", "b"]
    assert [c.id for c in parsed.calls] == ["call_0", "call_1"]
    assert parsed.repairs == ["bare_json"]


def test_json_that_is_not_a_call_stays_text():
    text = 'The result is {"name": "report", "total": 3} and {"a": 1}'
    parsed = parse_tool_calls(text, NAMES)
    assert parsed.calls == [] and parsed.text == text


def test_unmistakable_call_to_an_unknown_tool_is_kept_so_the_harness_can_answer():
    parsed = parse_tool_calls('{"name": "invoice_total", "arguments": {"tax": 20}}', NAMES)
    assert [c.name for c in parsed.calls] == ["invoice_total"]


def test_invalid_argument_json_is_reported_not_dropped():
    parsed = parse_tool_calls('{"name": "read_file", "arguments": "{oops"}', NAMES)
    (call,) = parsed.calls
    assert call.arguments == {} and "not valid JSON" in call.arguments_error
    assert "invalid_arguments" in parsed.repairs


def test_native_argument_decoding():
    assert decode_native_arguments('{"a": 1}') == ({"a": 1}, None)
    assert decode_native_arguments("") == ({}, None)
    assert decode_native_arguments({"b": 2}) == ({"b": 2}, None)
    assert decode_native_arguments("[1]")[1] is not None
    assert decode_native_arguments('{"a": ')[1] is not None


@given(st.text(max_size=500))
def test_parser_never_raises_on_arbitrary_text(text):
    parsed = parse_tool_calls(text, NAMES)
    for call in parsed.calls:
        assert isinstance(call.name, str) and isinstance(call.arguments, dict)
