"""The steps of a migration, in the order they run."""

from __future__ import annotations

from collections.abc import Mapping

from pulp2to3.actors import (
    content_iso,
    distributions,
    premigrate,
    publications,
    repo_versions,
    repositories,
)
from pulp2to3.actors.steps import Step
from pulp2to3.plan import Plan
from pulp2to3.plugins import PLUGINS

# One content step per Pulp 2 content type.
CONTENT_STEPS: Mapping[str, Step] = {"iso": content_iso.STEP}


def steps_for(plan: Plan) -> list[Step]:
    content = [
        CONTENT_STEPS[content_type]
        for plugin in plan.plugins
        for content_type in PLUGINS[plugin.type].content_types
    ]
    return [
        premigrate.STEP,
        *content,
        repositories.STEP,
        repo_versions.STEP,
        publications.STEP,
        distributions.STEP,
    ]
