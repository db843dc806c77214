"""Artifact storage on real files: checks of the source, hard link, copy fallback, reuse."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulp2to3 import storage
from pulp2to3.pulp2.paths import UnsafePath
from pulp2to3.storage import (
    Interrupted,
    MissingFile,
    NoSpace,
    SourceFileError,
    Stored,
    WrongChecksum,
    WrongSize,
    artifact_relative_path,
    check_source,
    import_unit_file,
    remove_temporary_files,
    store_artifact,
    temporary_folder,
)
from tests.filesystems_support import small_filesystem

DATA = b"an ISO image, or at least its first bytes\n" * 100
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "pulp" / "content" / "units" / "iso" / "ab" / "cd" / "disk.iso"
    path.parent.mkdir(parents=True)
    path.write_bytes(DATA)
    return path


@pytest.fixture
def media(tmp_path: Path) -> Path:
    return tmp_path / "media"


def failing_link(code: int) -> storage.LinkFunction:
    """A link function that fails like the kernel does, for errors a unit test cannot provoke
    (EPERM, EMLINK...); a real EXDEV, across two filesystems, is in the content step's tests."""

    def link(source: Path, target: Path) -> None:
        raise OSError(code, os.strerror(code), str(source), None, str(target))

    return link


def test_artifacts_are_content_addressed() -> None:
    assert artifact_relative_path(SHA) == f"artifact/{SHA[:2]}/{SHA[2:]}"


@pytest.mark.parametrize("bad", [SHA.upper(), SHA[:-1], SHA + "0", "../" + SHA[3:], ""])
def test_only_lower_case_sha256_names_an_artifact(bad: str) -> None:
    with pytest.raises(ValueError, match="not a lower-case sha256"):
        artifact_relative_path(bad)


def test_a_good_source_passes_with_and_without_verification(source: Path) -> None:
    check_source(source, size=len(DATA), sha256=SHA, verify=False)
    check_source(source, size=len(DATA), sha256=SHA, verify=True)


def test_a_missing_source(tmp_path: Path) -> None:
    with pytest.raises(MissingFile, match="is missing"):
        check_source(tmp_path / "nothing.iso", size=1, sha256=SHA, verify=False)


def test_a_source_of_the_wrong_size(source: Path) -> None:
    with pytest.raises(WrongSize, match=f"has {len(DATA)} bytes, expected 3"):
        check_source(source, size=3, sha256=SHA, verify=False)


def test_a_wrong_checksum_is_found_only_when_verifying(source: Path) -> None:
    other = "0" * 64
    check_source(source, size=len(DATA), sha256=other, verify=False)
    with pytest.raises(WrongChecksum, match=f"has sha256 {SHA}, expected {other}"):
        check_source(source, size=len(DATA), sha256=other, verify=True)


def test_a_folder_is_not_a_source(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match="not a regular file"):
        check_source(tmp_path, size=0, sha256=SHA, verify=False)


def test_a_symbolic_link_as_last_component_is_not_followed(source: Path) -> None:
    link = source.with_name("link.iso")
    link.symlink_to(source)
    with pytest.raises(SourceFileError, match="cannot be read"):
        check_source(link, size=len(DATA), sha256=SHA, verify=False)


def test_an_artifact_is_a_hard_link_to_the_source(source: Path, media: Path) -> None:
    stored = store_artifact(source, media, sha256=SHA, size=len(DATA))
    target = media / stored.file
    assert stored == storage.StoredArtifact(
        SHA, len(DATA), artifact_relative_path(SHA), Stored.LINKED
    )
    assert target.stat().st_ino == source.stat().st_ino
    assert hashlib.sha256(target.read_bytes()).hexdigest() == SHA


def test_an_existing_artifact_is_reused(source: Path, media: Path, tmp_path: Path) -> None:
    store_artifact(source, media, sha256=SHA, size=len(DATA))
    twin = tmp_path / "twin.iso"
    twin.write_bytes(DATA)
    again = store_artifact(twin, media, sha256=SHA, size=len(DATA))
    assert again.how is Stored.EXISTING
    assert (media / again.file).stat().st_ino == source.stat().st_ino


def test_an_existing_artifact_of_another_size_is_refused(source: Path, media: Path) -> None:
    target = media / artifact_relative_path(SHA)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"short")
    with pytest.raises(WrongSize, match="already stored with 5 bytes"):
        store_artifact(source, media, sha256=SHA, size=len(DATA))


def test_a_folder_another_batch_makes_meanwhile_is_linked_into(source: Path, media: Path) -> None:
    calls = 0

    def folder_made_meanwhile(src: Path, dst: Path) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # our link met the folder missing; the other batch then made it
            dst.parent.mkdir(parents=True)
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(src))
        os.link(src, dst)

    stored = store_artifact(source, media, sha256=SHA, size=len(DATA), link=folder_made_meanwhile)
    assert stored.how is Stored.LINKED
    assert (media / stored.file).stat().st_ino == source.stat().st_ino


def test_a_link_that_loses_a_race_reuses_the_winner(source: Path, media: Path) -> None:
    def racing_link(src: Path, dst: Path) -> None:
        os.link(src, dst)  # the other batch's link
        os.link(src, dst)  # ours: FileExistsError

    stored = store_artifact(source, media, sha256=SHA, size=len(DATA), link=racing_link)
    assert stored.how is Stored.EXISTING


@pytest.mark.parametrize("code", [errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP])
def test_a_link_across_filesystems_or_not_permitted_becomes_a_copy(
    source: Path, media: Path, code: int
) -> None:
    stored = store_artifact(source, media, sha256=SHA, size=len(DATA), link=failing_link(code))
    target = media / stored.file
    assert stored.how is Stored.COPIED
    assert target.stat().st_ino != source.stat().st_ino
    assert target.read_bytes() == DATA
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary file left


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS])
def test_other_link_errors_are_not_hidden(source: Path, media: Path, code: int) -> None:
    with pytest.raises(OSError, match=os.strerror(code)):
        store_artifact(source, media, sha256=SHA, size=len(DATA), link=failing_link(code))


def test_a_failed_copy_leaves_neither_artifact_nor_temporary_file(
    tmp_path: Path, media: Path
) -> None:
    vanished = tmp_path / "vanished.iso"  # removed between the check and the copy
    with pytest.raises(FileNotFoundError):
        store_artifact(vanished, media, sha256=SHA, size=1, link=failing_link(errno.EXDEV))
    assert list((media / artifact_relative_path(SHA)).parent.iterdir()) == []


def test_import_maps_checks_and_stores(source: Path, media: Path, tmp_path: Path) -> None:
    stored = import_unit_file(
        "/var/lib/pulp/content/units/iso/ab/cd/disk.iso",
        pulp2_root=tmp_path / "pulp",
        media_root=media,
        sha256=SHA,
        size=len(DATA),
        verify=True,
    )
    assert (media / stored.file).stat().st_ino == source.stat().st_ino


@pytest.mark.parametrize(
    "storage_path",
    [
        "/var/lib/pulp/content/../../outside.iso",
        "/etc/passwd",
        "/var/lib/pulp/content/units/iso/escape.iso",  # a symbolic link out of the root
    ],
)
def test_import_refuses_paths_out_of_the_root(
    storage_path: str, media: Path, tmp_path: Path, source: Path
) -> None:
    outside = tmp_path / "outside.iso"
    outside.write_bytes(DATA)
    (tmp_path / "pulp/content/units/iso/escape.iso").symlink_to(outside)
    with pytest.raises(UnsafePath):
        import_unit_file(
            storage_path,
            pulp2_root=tmp_path / "pulp",
            media_root=media,
            sha256=SHA,
            size=len(DATA),
            verify=False,
        )
    assert not media.exists()


def test_a_set_stop_interrupts_hashing(source: Path) -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(Interrupted):
        check_source(source, size=len(DATA), sha256=SHA, verify=True, stop=stop)


def test_a_set_stop_interrupts_a_copy_and_leaves_nothing(source: Path, media: Path) -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(Interrupted):
        store_artifact(
            source, media, sha256=SHA, size=len(DATA), link=failing_link(errno.EXDEV), stop=stop
        )
    assert list((media / artifact_relative_path(SHA)).parent.iterdir()) == []


def _write(media: Path, *parts: bytes) -> storage.StoredArtifact:
    writer = storage.ArtifactWriter(media)
    try:
        for part in parts:
            writer.write(part)
        return writer.commit()
    finally:
        writer.discard()


def test_a_written_file_becomes_the_artifact_of_its_sha256(media: Path) -> None:
    stored = _write(media, DATA[:100], DATA[100:])
    assert stored == storage.StoredArtifact(
        SHA, len(DATA), artifact_relative_path(SHA), Stored.WRITTEN
    )
    target = media / stored.file
    assert target.read_bytes() == DATA
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p for p in (media / storage.ARTIFACT_FOLDER).iterdir() if p.is_file()] == []


def test_the_same_bytes_written_again_reuse_the_artifact(media: Path) -> None:
    first = _write(media, DATA)
    again = _write(media, DATA)
    assert again.how is Stored.EXISTING
    assert (again.sha256, again.size, again.file) == (first.sha256, first.size, first.file)
    assert [p for p in (media / storage.ARTIFACT_FOLDER).rglob("*") if p.is_file()] == [
        media / first.file
    ]


def test_a_discarded_file_leaves_nothing(media: Path) -> None:
    writer = storage.ArtifactWriter(media)
    writer.write(DATA)
    writer.discard()
    assert list((media / storage.ARTIFACT_FOLDER).iterdir()) == []


@pytest.mark.parametrize(("code", "name"), [(errno.ENOSPC, "ENOSPC"), (errno.EDQUOT, "EDQUOT")])
def test_a_link_without_space_is_a_failure_of_the_unit(
    source: Path, media: Path, code: int, name: str
) -> None:
    with pytest.raises(NoSpace, match=f"no space left on the media root .*\\({name}\\)"):
        store_artifact(source, media, sha256=SHA, size=len(DATA), link=failing_link(code))


@pytest.fixture
def small_media(tmp_path: Path) -> Iterator[Path]:
    """A media root on a 64 KiB tmpfs, another filesystem than the sources: files are copied."""
    with small_filesystem(tmp_path / "small", 64 << 10) as folder:
        yield folder


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if not p.is_dir())


def test_a_copy_to_a_full_filesystem_fails_and_leaves_no_file(
    tmp_path: Path, small_media: Path
) -> None:
    big, small = tmp_path / "big.iso", tmp_path / "small.iso"
    big_data = os.urandom(200 << 10)
    big.write_bytes(big_data)
    small.write_bytes(DATA)
    big_sha = hashlib.sha256(big_data).hexdigest()

    with pytest.raises(NoSpace, match=r"No space left on device \(ENOSPC\)") as failure:
        store_artifact(big, small_media, sha256=big_sha, size=200 << 10)
    assert failure.value.path == big
    assert files_under(small_media) == []

    stored = store_artifact(small, small_media, sha256=SHA, size=len(DATA))  # still fits
    assert stored.how is Stored.COPIED
    assert files_under(small_media) == [small_media / stored.file]


def test_a_written_file_too_big_for_the_filesystem_leaves_nothing(small_media: Path) -> None:
    writer = storage.ArtifactWriter(small_media)

    def write_too_much() -> None:
        for _ in range(100):
            writer.write(b"x" * (4 << 10))
        writer.commit()

    try:
        with pytest.raises(OSError, match="No space left on device"):
            write_too_much()
    finally:
        writer.discard()
    assert files_under(small_media) == []


def test_temporary_files_left_by_a_crash_are_removed(source: Path, media: Path) -> None:
    stored = store_artifact(source, media, sha256=SHA, size=len(DATA))
    folder = (media / stored.file).parent
    leftovers = [folder / ".tmp-k1ll3d.part", media / "artifact" / ".tmp-metadata-x.part"]
    for path in leftovers:
        path.write_bytes(b"half")
    repodata = temporary_folder(media) / "repodata"  # a publisher's, killed while writing
    repodata.mkdir()
    (repodata / "primary.xml.gz").write_bytes(b"half")
    kept = [media / stored.file, folder / "not-a.part", media / ".tmp-elsewhere.part"]
    for path in kept[1:]:
        path.write_bytes(b"someone else's")

    assert remove_temporary_files(media) == 3
    assert files_under(media) == sorted(kept)
    assert remove_temporary_files(media) == 0
    assert remove_temporary_files(media / "nothing here") == 0
