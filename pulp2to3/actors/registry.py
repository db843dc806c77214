"""The steps of a migration, in the order they run."""

from __future__ import annotations

from pulp2to3.actors import (
    distributions,
    premigrate,
    publications,
    repo_versions,
    repositories,
)
from pulp2to3.actors.content import content_step
from pulp2to3.actors.steps import Step
from pulp2to3.plan import Plan
from pulp2to3.plugins.registry import PLUGINS


def _register_content_tasks() -> None:
    """A worker may be given a batch of any supported content type: register their tasks."""
    for plugin in PLUGINS.values():
        for content_type in plugin.content_types:
            content_step(content_type)


_register_content_tasks()


def steps_for(plan: Plan) -> list[Step]:
    """The content steps run one after the other, each plugin's types after those they need."""
    content = [
        content_step(content_type)
        for plugin in plan.plugins
        for content_type in PLUGINS[plugin.type].content_order()
    ]
    return [
        premigrate.STEP,
        *content,
        repositories.STEP,
        repo_versions.STEP,
        publications.STEP,
        distributions.STEP,
    ]
