"""A migration canceled, or its worker killed, at a seeded random point and then finished holds
the same target as a clean run of the same sample, row for row (issue 10, item 5).

The clean run is made once per module; each test interrupts its own migration of the sample
(``tests/interruption_support.py``) and compares every target table, the artifacts' files and
the report's counters with it. ``benchmarks/interruptions.py`` loops over many seeds."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

import pytest

from pulp2to3.sample import SampleSummary, generate_sample
from tests.database_support import fresh_database
from tests.interruption_support import Interruption, Outcome, migrate
from tests.target_support import differences

# Enough units for three content batches, some files revised upstream, half on_demand.
SAMPLE: dict[str, Any] = dict(
    repos=6, units=2100, on_demand=0.5, overlap=0.3, revisions=0.05, seed=11
)

pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(tmp_path_factory.mktemp("sample"), **SAMPLE)


@pytest.fixture(scope="module")
def clean(
    server_url: str,
    template_database: str,
    sample: SampleSummary,
    tmp_path_factory: pytest.TempPathFactory,
) -> Outcome:
    with fresh_database(server_url, template_database) as url:
        return asyncio.run(migrate(url, sample, tmp_path_factory.mktemp("clean") / "media"))


OTHER_PLUGINS = {
    "rpm_package", "rpm_metadata", "rpm_module_package", "deb_package", "deb_release",
    "deb_release_component", "deb_package_release_component",
}  # fmt: skip

# Seeds and where they land (Interruption.choose picks a step of STEP_ORDER by the seed: a
# change to the steps moves them): seven of the eight steps, then a kill in five.
CANCELS = {
    14: "premigrate",  # after 1 of its parts
    4: "premigrate_merge",  # after 1 of its 2 ranges: the other is not merged
    13: "migrate_content.iso",  # after 1 batch
    9: "compute_version_content",
    5: "create_repositories",
    19: "create_repo_versions",
    0: "create_publications",
}
KILLS = {
    7: "migrate_content.iso",
    10: "create_repositories",
    2: "create_publications",
    1: "premigrate_merge",
    11: "compute_version_content",
}


@pytest.mark.parametrize(
    ("how", "seed", "step"),
    [("cancel", seed, step) for seed, step in CANCELS.items()]
    + [("kill", seed, step) for seed, step in KILLS.items()],
)
async def test_an_interrupted_migration_finishes_as_a_clean_run(
    db_url: str,
    sample: SampleSummary,
    clean: Outcome,
    tmp_path: Path,
    how: Literal["cancel", "kill"],
    seed: int,
    step: str,
) -> None:
    assert clean.batches["migrate_content.iso"] == 3, "content batches to cancel between"
    empty = [table for table, rows in clean.target.items() if not rows]
    assert set(empty) == OTHER_PLUGINS, "every table an ISO migration writes is compared"
    interruption = Interruption.choose(seed, how, clean.batches)
    assert interruption.step == step, "the seed lands where it is listed"
    outcome = await migrate(db_url, sample, tmp_path / "media", interruption, seed)
    where = f"{interruption}: {outcome.landed}"
    assert differences(clean.target, outcome.target) == {}, where
    assert outcome.counters == clean.counters, where
