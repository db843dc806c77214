"""The Pulp 2 MongoDB documents and files of the RPM part of a sample, one builder per kind.

Packages carry their ``repodata`` snippets as Pulp 2 stored them: createrepo_c writes each
``<package>`` element, the checksum type and value are turned back into the template
placeholders, and the text is zlib-compressed.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import bson
import createrepo_c as cr
from bson.int64 import Int64

from .documents import iso8601
from .population import PULP2_ROOT, ObjectIds
from .rpm_population import (
    ErratumSpec,
    ModuleSpec,
    PackageSpec,
    RpmRepoSpec,
    package_name,
)

Document = dict[str, Any]
_EPOCH = datetime(1970, 1, 1)
TREE_IMAGES = ("images/pxeboot/vmlinuz", "images/pxeboot/initrd.img")


def _seconds(moment: datetime) -> int:
    return int((moment - _EPOCH).total_seconds())


def _unit_base(unit_id: str, content_type: str, added: datetime) -> Document:
    return {
        "_id": unit_id,
        "_content_type_id": content_type,
        "_last_updated": _seconds(added),
        "downloaded": True,
        "pulp_user_metadata": {},
    }


def membership_documents(
    unit_id: str,
    content_type: str,
    repos: tuple[int, ...],
    specs: list[RpmRepoSpec],
    ids: ObjectIds,
    added: datetime,
) -> Iterator[Document]:
    stamp = iso8601(added)
    for index in repos:
        yield {
            "_id": ids.new(added),
            "repo_id": specs[index].repo_id,
            "unit_id": unit_id,
            "unit_type_id": content_type,
            "created": stamp,
            "updated": stamp,
        }


def lazy_documents(
    unit_id: str,
    content_type: str,
    url_path: str,
    storage_path: str,
    checksum: str,
    repos: tuple[int, ...],
    specs: list[RpmRepoSpec],
    ids: ObjectIds,
    added: datetime,
) -> Iterator[Document]:
    for index in repos:
        yield {
            "_id": ids.new(added),
            "importer_id": str(specs[index].importer_object_id),
            "unit_id": unit_id,
            "unit_type_id": content_type,
            "url": specs[index].feed + url_path,
            "path": storage_path,
            "checksum": checksum,
            "checksum_algorithm": "sha256",
            "revision": 0,
        }


# -- repositories ------------------------------------------------------------------------------


def repo_document(
    repo: RpmRepoSpec, counts: dict[str, int], last_added: datetime | None
) -> Document:
    document: Document = {
        "_id": repo.object_id,
        "repo_id": repo.repo_id,
        "display_name": f"RPM repository {repo.index}",
        "description": f"Sample RPM repository {repo.repo_id}",
        "notes": {"_repo-type": "rpm-repo"},
        "scratchpad": {"checksum_type": repo.checksum_type or "sha256"},
        "content_unit_counts": {kind: count for kind, count in counts.items() if count},
        "_ns": "repos",
    }
    if last_added is not None:
        document["last_unit_added"] = last_added
    return document


def importer_document(repo: RpmRepoSpec) -> Document:
    config: Document = {
        "feed": repo.feed,
        "download_policy": "on_demand" if repo.on_demand else "immediate",
        "ssl_validation": True,
    }
    if repo.index % 4 == 3:
        # A secret the migration must keep but never show.
        config.update(
            {
                "proxy_host": "proxy.example.com",
                "proxy_port": 3128,
                "proxy_username": "sample",
                "proxy_password": "sample-proxy-secret",
            }
        )
    return {
        "_id": repo.importer_object_id,
        "repo_id": repo.repo_id,
        "importer_type_id": "yum_importer",
        "config": config,
        "last_sync": iso8601(repo.last_sync),
        "last_updated": repo.last_sync,
        "last_override_config": {},
        "scratchpad": {"repomd_revision": _seconds(repo.last_sync)},
        "_ns": "repo_importers",
    }


def distributor_documents(repo: RpmRepoSpec) -> Iterator[Document]:
    config: Document = {"http": False, "https": True}
    if repo.relative_url is not None:
        config["relative_url"] = repo.relative_url
    if repo.checksum_type is not None:
        config["checksum_type"] = repo.checksum_type
    if repo.generate_sqlite:
        config["generate_sqlite"] = True
    yield _distributor(repo, repo.distributor_object_id, "yum_distributor", config)
    if repo.export_object_id is not None:
        export_config = {"http": False, "https": True, "relative_url": f"export/{repo.repo_id}"}
        yield _distributor(repo, repo.export_object_id, "export_distributor", export_config)


def _distributor(repo: RpmRepoSpec, object_id: Any, kind: str, config: Document) -> Document:
    return {
        "_id": object_id,
        "repo_id": repo.repo_id,
        "distributor_id": kind,
        "distributor_type_id": kind,
        "config": config,
        "auto_publish": kind == "yum_distributor",
        "last_publish": repo.last_sync + timedelta(minutes=10),
        "last_updated": repo.last_sync,
        "last_override_config": {},
        "scratchpad": {},
        "_ns": "repo_distributors",
    }


# -- packages ----------------------------------------------------------------------------------


def _createrepo_package(package: PackageSpec) -> cr.Package:
    built = cr.Package()
    built.name, built.epoch, built.version = package.name, package.epoch, package.version
    built.release, built.arch = package.release, package.arch
    built.pkgId, built.checksum_type = package.checksum, "sha256"
    built.summary = f"The {package.name} sample package"
    # Braces in text are data that a template renderer must leave alone.
    built.description = f"Sample package {package.number}; not a template: {{{{ checksum }}}}"
    built.url = "https://example.com/zoo"
    built.time_file = built.time_build = _seconds(package.added)
    built.size_package = len(package.content)
    built.size_installed = 10 * len(package.content)
    built.location_href = package.location
    built.rpm_license, built.rpm_group = "MIT", "Applications/Zoo"
    built.rpm_buildhost = "build.example.com"
    if package.content_type == "rpm":
        built.rpm_sourcerpm = f"{package.name}-{package.version}-{package.release}.src.rpm"
    built.provides = [(package.name, "EQ", package.epoch, package.version, package.release, False)]
    built.requires = [("bash", None, None, None, None, False)]
    built.files = [
        (None, "/usr/bin/", package.name),
        (None, f"/usr/share/doc/{package.name}/", "README"),
    ]
    # Newest first in, oldest first out; some packages have more than Pulp 3 keeps.
    count = 12 if package.number % 3 == 0 else 2
    built.changelogs = [
        (
            f"Zoo Keeper <zoo@example.com> - {n}",
            _seconds(package.added) - 86400 * n,
            f"- change {n}",
        )
        for n in range(count)
    ]
    return built


def repodata_templates(built: cr.Package) -> dict[str, bytes]:
    """``repodata`` as Pulp 2 stores it for a package: its three snippets, the checksum type
    and value turned into template placeholders, zlib-compressed."""
    checksum = f'<checksum type="{built.checksum_type}" pkgid="YES">{built.pkgId}</checksum>'
    primary = cr.xml_dump_primary(built).replace(
        checksum, '<checksum type="{{ checksumtype }}" pkgid="YES">{{ checksum }}</checksum>', 1
    )
    pkgid = f'pkgid="{built.pkgId}"'
    filelists = cr.xml_dump_filelists(built).replace(pkgid, 'pkgid="{{ pkgid }}"', 1)
    other = cr.xml_dump_other(built).replace(pkgid, 'pkgid="{{ pkgid }}"', 1)
    return {
        "primary": zlib.compress(primary.encode()),
        "filelists": zlib.compress(filelists.encode()),
        "other": zlib.compress(other.encode()),
    }


def package_document(package: PackageSpec) -> Document:
    built = _createrepo_package(package)
    document = _unit_base(package.unit_id, package.content_type, package.added)
    document.update(
        {
            "_storage_path": package.storage_path,
            "downloaded": package.downloaded,
            "name": package.name,
            "epoch": package.epoch,
            "version": package.version,
            "release": package.release,
            "arch": package.arch,
            "checksumtype": "sha256",
            "checksum": package.checksum,
            "checksums": {"sha256": package.checksum},
            "filename": package.filename,
            "size": len(package.content),
            "sourcerpm": built.rpm_sourcerpm,
            "summary": built.summary,
            "description": built.description,
            "build_time": built.time_build,
            "buildhost": built.rpm_buildhost,
            "license": built.rpm_license,
            "group": built.rpm_group,
            "url": built.url,
            "provides": [
                {"name": n, "flags": f, "epoch": e, "version": v, "release": r}
                for n, f, e, v, r, _pre in built.provides
            ],
            "requires": [{"name": "bash"}],
            "files": {"dir": [], "file": [d + f for _t, d, f in built.files]},
            "changelog": [[a, d, t] for a, d, t in built.changelogs],
            "is_modular": package.modular,
            "header_range": {"start": 872, "end": 2293},
            "repodata": repodata_templates(built),
            "_ns": f"units_{package.content_type}",
        }
    )
    return document


# -- modules -----------------------------------------------------------------------------------


def module_yaml(module: ModuleSpec) -> str:
    names = sorted({package.name for package in module.packages})
    artifacts = "".join(f"      - {package.nevra}\n" for package in module.packages)
    return (
        "---\ndocument: modulemd\nversion: 2\ndata:\n"
        f'  name: {module.name}\n  stream: "{module.stream}"\n  version: {module.version}\n'
        f"  context: {module.context}\n  arch: {module.arch}\n"
        f"  summary: The {module.name} module\n  description: Sample module.\n"
        "  license:\n    module: [MIT]\n"
        f"  profiles:\n    default:\n      rpms: [{', '.join(names)}]\n"
        f"  artifacts:\n    rpms:\n{artifacts}...\n"
    )


def module_document(module: ModuleSpec, yaml: str, checksum: str) -> Document:
    document = _unit_base(module.unit_id, "modulemd", module.added)
    document.update(
        {
            "_storage_path": f"{PULP2_ROOT}/{module.relative_path}",
            "name": module.name,
            "stream": module.stream,
            "version": Int64(module.version),
            "context": module.context,
            "arch": module.arch,
            "summary": f"The {module.name} module",
            "description": "Sample module.",
            "profiles": {"default": sorted({p.name for p in module.packages})},
            "artifacts": [package.nevra for package in module.packages],
            "dependencies": [{"platform": ["el8"]}],
            "checksum": checksum,
            "_ns": "units_modulemd",
        }
    )
    return document


def defaults_yaml(module: ModuleSpec) -> str:
    return (
        "---\ndocument: modulemd-defaults\nversion: 1\ndata:\n"
        f'  module: {module.name}\n  stream: "{module.stream}"\n'
        f'  profiles:\n    "{module.stream}": [default]\n...\n'
    )


def defaults_document(
    module: ModuleSpec, repo: RpmRepoSpec, unit_id: str, relative_path: str, checksum: str
) -> Document:
    document = _unit_base(unit_id, "modulemd_defaults", module.added)
    document.update(
        {
            "_storage_path": f"{PULP2_ROOT}/{relative_path}",
            "name": module.name,
            "stream": module.stream,
            "repo_id": repo.repo_id,
            # Pulp 2 keeps the profiles as a BSON document inside a string.
            "profiles": bson.encode({module.stream: ["default"]}).decode(),
            "checksum": checksum,
            "_ns": "units_modulemd_defaults",
        }
    )
    return document


# -- errata ------------------------------------------------------------------------------------


def erratum_document(erratum: ErratumSpec) -> Document:
    document = _unit_base(erratum.unit_id, "erratum", erratum.added)
    document.update(
        {
            "errata_id": erratum.errata_id,
            "title": f"Sample {erratum.kind} update {erratum.errata_id}",
            "type": erratum.kind,
            "status": "final",
            "issued": erratum.issued,
            "updated": erratum.updated,
            "severity": "Moderate" if erratum.kind == "security" else "",
            "summary": "A sample advisory",
            "description": "Fixes {{ nothing }} in the sample packages.",
            "solution": "Update.",
            "rights": "Copyright Zoo",
            "release": "1",
            "version": "1",
            "from": "errata@example.com",
            "pushcount": "1",
            "references": [
                {
                    "href": f"https://example.com/errata/{erratum.errata_id}",
                    "id": erratum.errata_id,
                    "title": erratum.errata_id,
                    "type": "self",
                }
            ],
            "reboot_suggested": erratum.kind == "security",
            "pkglist": [],
            "_ns": "units_erratum",
        }
    )
    return document


def _pkglist_package(package: PackageSpec) -> Document:
    return {
        "name": package.name,
        # Pulp 2 leaves the epoch empty for some errata sources.
        "epoch": None if package.epoch == "0" and package.number % 2 else package.epoch,
        "version": package.version,
        "release": package.release,
        "arch": package.arch,
        "filename": package.filename,
        "src": f"{package.name}-{package.version}-{package.release}.src.rpm",
        "sum": ["sha256", package.checksum],
    }


def pkglist_document(erratum: ErratumSpec, repo: RpmRepoSpec, ids: ObjectIds) -> Document:
    module = erratum.module
    plain = [p for p in erratum.packages if not p.modular]
    modular = [p for p in erratum.packages if p.modular]
    collections: list[Document] = [
        {
            "name": f"{erratum.errata_id}-collection",
            "short": "",
            "packages": [_pkglist_package(p) for p in plain],
        }
    ]
    if modular:
        collections.append(
            {
                "name": f"{erratum.errata_id}-{module.name}",
                "short": "",
                "module": {
                    "name": module.name,
                    "stream": module.stream,
                    "version": str(module.version),
                    "context": module.context,
                    "arch": module.arch,
                },
                "packages": [_pkglist_package(p) for p in modular],
            }
        )
    return {
        "_id": ids.new(erratum.added),
        "errata_id": erratum.errata_id,
        "repo_id": repo.repo_id,
        "collections": collections,
        "_ns": "erratum_pkglists",
    }


# -- comps -------------------------------------------------------------------------------------


def comps_documents(
    repo: RpmRepoSpec, unit_ids: Iterator[str], at: datetime, packages: int
) -> Iterator[Document]:
    """Two groups, a category, an environment and langpacks for one repository."""
    names = [package_name(n) for n in range(min(packages, 4))]
    group_ids = [f"zoo-group-{k}" for k in range(2)]
    for k, group_id in enumerate(group_ids):
        document = _unit_base(next(unit_ids), "package_group", at)
        document.update(
            {
                "package_group_id": group_id,
                "repo_id": repo.repo_id,
                "name": f"Zoo group {k}",
                "description": f"Animals, part {k}",
                "default": k == 0,
                "user_visible": True,
                "display_order": 1024 + k,
                "langonly": None,
                "mandatory_package_names": names[:1],
                "default_package_names": names[1:2],
                "optional_package_names": names[2:3],
                "conditional_package_names": [[names[3], names[0]]] if len(names) > 3 else [],
                "translated_name": {"de": f"Zoo-Gruppe {k}"},
                "translated_description": {"de": f"Tiere, Teil {k}"},
                "_ns": "units_package_group",
            }
        )
        yield document
    category = _unit_base(next(unit_ids), "package_category", at)
    category.update(
        {
            "package_category_id": "zoo-category",
            "repo_id": repo.repo_id,
            "name": "Zoo",
            "description": "All the zoo",
            "display_order": 10,
            "packagegroupids": group_ids,
            "translated_name": {"de": "Zoo"},
            "translated_description": {},
            "_ns": "units_package_category",
        }
    )
    yield category
    environment = _unit_base(next(unit_ids), "package_environment", at)
    environment.update(
        {
            "package_environment_id": "zoo-environment",
            "repo_id": repo.repo_id,
            "name": "Zoo environment",
            "description": "A whole zoo",
            "display_order": 5,
            "group_ids": group_ids[:1],
            "options": [{"group": group_ids[1], "default": True}],
            "translated_name": {},
            "translated_description": {},
            "_ns": "units_package_environment",
        }
    )
    yield environment
    langpacks = _unit_base(next(unit_ids), "package_langpacks", at)
    langpacks.update(
        {
            "repo_id": repo.repo_id,
            "matches": [{"name": names[0], "install": f"{names[0]}-langpack-%s"}] if names else [],
            "_ns": "units_package_langpacks",
        }
    )
    yield langpacks


# -- kickstart tree and metadata files ---------------------------------------------------------


def treeinfo_text(timestamp: int, image_checksums: dict[str, str]) -> str:
    checksums = "".join(f"{path} = sha256:{value}\n" for path, value in image_checksums.items())
    return (
        "[header]\ntype = productmd.treeinfo\nversion = 1.2\n\n"
        "[release]\nname = Zoo Linux\nshort = Zoo\nversion = 8.1\n\n"
        f"[tree]\narch = x86_64\nbuild_timestamp = {timestamp}\nplatforms = x86_64\n"
        "variants = BaseOS\n\n"
        "[variant-BaseOS]\nid = BaseOS\nname = BaseOS\npackages = Packages\nrepository = .\n"
        "type = variant\nuid = BaseOS\n\n"
        f"[images-x86_64]\nkernel = {TREE_IMAGES[0]}\ninitrd = {TREE_IMAGES[1]}\n\n"
        f"[stage2]\nmainimage = images/install.img\n\n[checksums]\n{checksums}"
    )


def distribution_document(
    unit_id: str,
    relative_path: str,
    downloaded: bool,
    timestamp: int,
    image_checksums: dict[str, str],
    at: datetime,
) -> Document:
    document = _unit_base(unit_id, "distribution", at)
    document.update(
        {
            "_storage_path": f"{PULP2_ROOT}/{relative_path}",
            "downloaded": downloaded,
            "distribution_id": "ks-Zoo Linux-BaseOS-8.1-x86_64",
            "family": "Zoo Linux",
            "variant": "BaseOS",
            "version": "8.1",
            "arch": "x86_64",
            "packagedir": "Packages",
            "timestamp": float(timestamp),
            # The trailing newline on one path is a Pulp 2 bug real dumps carry.
            "files": [
                {
                    "relativepath": path + ("\n" if n == 1 else ""),
                    "checksum": checksum,
                    "checksumtype": "sha256",
                }
                for n, (path, checksum) in enumerate(image_checksums.items())
            ],
            "_ns": "units_distribution",
        }
    )
    return document


def metadata_file_document(
    repo: RpmRepoSpec, unit_id: str, data_type: str, relative_path: str, checksum: str, at: datetime
) -> Document:
    document = _unit_base(unit_id, "yum_repo_metadata_file", at)
    document.update(
        {
            "_storage_path": f"{PULP2_ROOT}/{relative_path}",
            "data_type": data_type,
            "repo_id": repo.repo_id,
            "checksum": checksum,
            "checksum_type": "sha256",
            "_ns": "units_yum_repo_metadata_file",
        }
    )
    return document
