"""Pulp 2 ``yum_repo_metadata_file`` units (extra ``repodata/`` files such as productid)."""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Mapping
from typing import Any

from . import checksums
from .errors import InvalidRpmUnit, text_field

CONTENT_TYPE = "yum_repo_metadata_file"
# Compressed copies of other metadata that createrepo_c writes itself.
SKIPPED_SUFFIXES = ("_zck", "_xz")


@dataclasses.dataclass(frozen=True)
class RepoMetadataFile:
    data_type: str
    repo_id: str
    checksum_type: str
    checksum: str
    file_name: str
    """The file's name, as Pulp 2 stored it (it goes under ``repodata/``)."""


def is_skipped(fields: Mapping[str, Any]) -> bool:
    """True for the data types that are not migrated (``*_zck``, ``*_xz``)."""
    return str(fields.get("data_type", "")).endswith(SKIPPED_SUFFIXES)


def decode_metadata_file(fields: Mapping[str, Any]) -> RepoMetadataFile:
    """The metadata file a unit describes (check :func:`is_skipped` first)."""
    try:
        checksum_type = checksums.normalize(fields.get("checksum_type"))
    except checksums.UnknownChecksumType as error:
        raise InvalidRpmUnit.of(fields, CONTENT_TYPE, str(error)) from error
    file_name = posixpath.basename(text_field(fields, "_storage_path", CONTENT_TYPE))
    if not file_name:
        raise InvalidRpmUnit.of(fields, CONTENT_TYPE, "_storage_path names no file")
    return RepoMetadataFile(
        data_type=text_field(fields, "data_type", CONTENT_TYPE),
        repo_id=text_field(fields, "repo_id", CONTENT_TYPE),
        checksum_type=checksum_type,
        checksum=text_field(fields, "checksum", CONTENT_TYPE).lower(),
        file_name=file_name,
    )
