"""The steps of a migration and what each needs: a graph the coordinator runs."""

from __future__ import annotations

import dataclasses

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


def _content_steps(plan: Plan, first: str) -> list[Step]:
    """Each plugin's content steps, each after those of the types it needs, or after ``first``."""
    steps = []
    for planned in plan.plugins:
        plugin = PLUGINS[planned.type]
        codes = {t.pulp2_type: t.step_code for t in plugin.content_types}
        for content_type in plugin.content_order():
            needs = tuple(codes[need] for need in content_type.needs) or (first,)
            steps.append(dataclasses.replace(content_step(content_type), needs=needs))
    return steps


def steps_for(plan: Plan) -> list[Step]:
    """The steps of a migration as a graph, each after the steps it needs.

    premigrate comes first, then premigrate_merge; the content steps of the plan's plugins follow
    it, each type's after those of the types it needs (types that need nothing of each other run
    at the same time); create_repositories needs every content step, and so does
    compute_version_content, which runs beside it; create_repo_versions needs both; then
    publications, distributions.
    """
    merge = dataclasses.replace(premigrate.MERGE_STEP, needs=(premigrate.STEP.code,))
    content = _content_steps(plan, merge.code)
    steps = [premigrate.STEP, merge, *content]
    content_done = tuple(step.code for step in content) or (merge.code,)
    # First of the two that start together: its one batch is queued before create_repositories'
    compute = dataclasses.replace(repo_versions.COMPUTE_STEP, needs=content_done)
    steps.append(compute)
    previous = content_done
    for step in (repositories.STEP, repo_versions.STEP, publications.STEP, distributions.STEP):
        needs = (*previous, compute.code) if step is repo_versions.STEP else previous
        steps.append(dataclasses.replace(step, needs=needs))
        previous = (step.code,)
    return steps
