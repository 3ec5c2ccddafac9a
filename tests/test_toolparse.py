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


def test_a_call_whose_command_has_unescaped_quotes_is_still_the_call():
    """As the 1.5B wrote it in OpenCode: the awk program's quotes not escaped."""
    text = (
        '```json\n{\n  "name": "bash",\n  "arguments": {\n    "command": "grep ERROR app.log | '
        'awk \'{print $2 " " $1}\' | sort -nr",\n    "timeout": 30000\n  }\n}\n```'
    )
    parsed = parse_tool_calls(text, ["bash", "read"])
    (call,) = parsed.calls
    assert call.arguments == {
        "command": "grep ERROR app.log | awk '{print $2 \" \" $1}' | sort -nr",
        "timeout": 30000,
    }
    assert call.arguments_error is None
    assert parsed.repairs == ["fenced_json", "unescaped_json"] and parsed.text == ""


def test_raw_newlines_and_unknown_escapes_in_strings_are_read_as_written():
    text = (
        '<tool_call>{"name": "write_file", "arguments": {"path": "a.py", '
        '"content": "import re\nprint(re.findall(r"\\d+", "a1"))\n"}}</tool_call>'
    )
    (call,) = parse_tool_calls(text, NAMES).calls
    assert call.arguments["content"] == 'import re\nprint(re.findall(r"\\d+", "a1"))\n'


def test_a_lenient_reading_never_turns_other_json_into_a_call():
    text = 'Use {"name": "report "final"", "total": 3} or {"a": "b"c"}'
    parsed = parse_tool_calls(text, NAMES)
    assert parsed.calls == [] and parsed.text == text


# Strings full of what a lenient reading must get right: quotes, escapes, separators.
tricky_text = st.text(alphabet='ab"\\,:{}[] \n\té', max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(tricky_text, children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(tricky_text, json_values, max_size=5), st.text(max_size=20))
def test_valid_json_reads_the_same_leniently(value, after):
    from skvm_core.llm.json_repair import repair_object

    for indent in (None, 2):
        encoded = json.dumps(value, indent=indent, ensure_ascii=False)
        assert repair_object(encoded + after, 0) == (value, len(encoded))
