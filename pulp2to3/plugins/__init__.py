"""What each supported Pulp 2 plugin brings: its repository type and its content types."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping


@dataclasses.dataclass(frozen=True)
class PluginInfo:
    # The `notes._repo-type` Pulp 2 gives this plugin's repositories.
    repo_type: str
    # Content types in dependency order: a type only refers to types before it.
    content_types: tuple[str, ...]


PLUGINS: Mapping[str, PluginInfo] = {
    "iso": PluginInfo(repo_type="iso-repo", content_types=("iso",)),
}
