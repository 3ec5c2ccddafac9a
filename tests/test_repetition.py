"""Loop detection for local generations: a repeated tail is cut to one copy; ordinary
text, short repeated rows and distinct batches of calls are left alone."""

from hypothesis import given
from hypothesis import strategies as st

from skvm_core.llm.repetition import repetition_cut

CALLS = "".join(f'{{"name": "read_file", "arguments": {{"path": "f{i}.csv"}}}}\n' for i in range(4))


def test_a_repeated_batch_of_calls_is_cut_to_one_copy():
    text = "Reading the files.\n" + CALLS * 3 + CALLS[:25]
    kept = text[: repetition_cut(text)]
    assert kept.rstrip("\n") == ("Reading the files.\n" + CALLS).rstrip("\n")


def test_distinct_calls_and_prose_are_not_cut():
    distinct = "".join(
        f'{{"name": "write_file", "arguments": {{"path": "out/{i}.txt", "content": "{i}"}}}}\n'
        for i in range(12)
    )
    assert repetition_cut(distinct) is None
    prose = "The report lists each region with its revenue and the share of the total. " * 1
    assert repetition_cut(prose) is None


def test_a_few_identical_short_rows_are_normal_output():
    assert repetition_cut("name,count\n" + "0,0,0,0,0,0,0,0,0,0,0,0,0\n" * 5) is None
    assert repetition_cut("x" * 200) is None


@given(st.text(min_size=0, max_size=300), st.text(min_size=24, max_size=80))
def test_cut_text_ends_in_one_copy_of_the_block(prefix, block):
    text = prefix + block * (300 // len(block) + 2)
    cut = repetition_cut(text)
    assert cut is not None
    kept = text[:cut]
    # what is kept is a prefix of the text, no longer than the prefix plus one block
    assert text.startswith(kept) and len(kept) <= len(prefix) + len(block)
    assert len(kept) >= min(len(block), 24)
