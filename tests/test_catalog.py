import pytest

from skvm_core.catalog import CATEGORIES, load_catalog
from skvm_core.catalog.model import parse_catalog
from skvm_core.errors import SkvmError

REFERENCE_IDS = [
    "gen.code.python", "gen.code.javascript", "gen.code.shell", "gen.code.sql", "gen.code.html",
    "gen.text.structured", "gen.text.long", "gen.text.prose", "gen.regex",
    "reason.arithmetic", "reason.logic", "reason.spatial", "reason.planning", "reason.analysis",
    "tool.file.read", "tool.file.write", "tool.exec", "tool.call.format", "tool.call.batch",
    "tool.web", "tool.browser",
    "follow.format", "follow.constraint", "follow.procedure", "follow.delegation", "follow.style",
]  # fmt: skip


def test_catalog_has_the_26_reference_primitives_in_order():
    assert load_catalog().ids() == REFERENCE_IDS


def test_category_sizes_match_the_reference():
    catalog = load_catalog()
    sizes = {category: len(catalog.by_category(category)) for category in CATEGORIES}
    assert sizes == {"generation": 9, "reasoning": 5, "tool_use": 7, "instruction_following": 5}


def test_every_primitive_has_levels_and_degradations_except_browser_l2_to_l1():
    for primitive in load_catalog().primitives:
        assert primitive.L1 and primitive.L2 and primitive.L3 and primitive.description
        assert primitive.degrade_3_2, primitive.id
        if primitive.id == "tool.browser":
            assert primitive.degrade_2_1 is None
            assert primitive.degradations == {"L3->L2": primitive.degrade_3_2, "L2->L1": None}
        else:
            assert primitive.degrade_2_1, primitive.id


def test_unknown_primitive_is_a_project_error():
    with pytest.raises(SkvmError, match="unknown primitive"):
        load_catalog().get("gen.code.cobol")


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[primitive]]\nid = 'bad id'\n", "invalid primitive catalog"),
        ("[[primitive\n", "invalid primitive catalog"),
        (
            "[[primitive]]\nid='gen.x'\ncategory='reasoning'\ndescription='d'\nL1='a'\nL2='b'\nL3='c'\n",
            "expected generation",
        ),
    ],
)
def test_malformed_catalog_documents_are_rejected(text, message):
    with pytest.raises(SkvmError, match=message):
        parse_catalog(text)


def test_catalog_cli_prints_every_primitive(capsys):
    from skvm_core.cli import main

    assert main(["catalog", "--json"]) == 0
    import json

    printed = json.loads(capsys.readouterr().out)
    assert [p["id"] for p in printed] == REFERENCE_IDS
