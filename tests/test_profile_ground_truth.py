"""Every generator × level: the reference solution passes, a plausible wrong answer fails."""

from pathlib import Path

import pytest

from skvm_core.catalog import load_catalog
from skvm_core.profile.generators import GENERATORS
from skvm_core.profile.instance import TEST_LEVELS, write

CASES = [(p, level) for p in load_catalog().ids() for level in TEST_LEVELS]


def lay_out(instance, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    for name, text in instance.files.items():
        write(work, name, text)


def test_every_primitive_has_a_generator():
    assert sorted(GENERATORS) == sorted(load_catalog().ids())


@pytest.mark.parametrize("primitive, level", CASES, ids=[f"{p}-{lv}" for p, lv in CASES])
async def test_reference_passes_and_wrong_answer_fails(primitive, level, tmp_path):
    generator = GENERATORS[primitive]
    for index in range(2):  # two instances: different random draws
        instance = generator.generate(level, seed=7, index=index)
        good, bad = tmp_path / f"good{index}", tmp_path / f"bad{index}"
        lay_out(instance, good)
        lay_out(instance, bad)
        passed = await generator.check(instance, good, generator.solve(instance, good))
        assert passed.infra_error is None, passed.infra_error
        assert passed.passed, passed.summary()
        failed = await generator.check(instance, bad, generator.wrong(instance, bad))
        assert not failed.passed, f"wrong answer passed: {failed.summary()}"
        assert failed.checkpoints and all(c.reason for c in failed.checkpoints)


@pytest.mark.parametrize("primitive", sorted(GENERATORS))
def test_same_seed_same_instances_other_seed_differs(primitive):
    generator = GENERATORS[primitive]
    for level in TEST_LEVELS:
        first = [generator.generate(level, seed=3, index=i).model_dump() for i in range(3)]
        again = [generator.generate(level, seed=3, index=i).model_dump() for i in range(3)]
        assert first == again
    other = [
        generator.generate(lv, seed=4, index=i).model_dump() for lv in TEST_LEVELS for i in range(3)
    ]
    same_seed = [
        generator.generate(lv, seed=3, index=i).model_dump() for lv in TEST_LEVELS for i in range(3)
    ]
    if primitive not in ("follow.style", "gen.text.prose", "follow.format", "reason.analysis"):
        assert other != same_seed
