-- The Debian plugin's tables: packages with their control fields, releases, release components
-- and the packages of each component.
-- Debian packages (Pulp 3's deb.package): the key fields, and every control field of the
-- package, in order, as [name, value] pairs that the publisher writes back into Packages.
CREATE TABLE deb_package (
    content_id     bigint PRIMARY KEY REFERENCES content (id),
    package        text   NOT NULL,
    version        text   NOT NULL,
    architecture   text   NOT NULL,
    source         text,
    relative_path  text   NOT NULL,
    sha256         text   NOT NULL,
    size           bigint NOT NULL,
    control        jsonb  NOT NULL
);

-- Debian releases (deb.release): what a dists/<distribution>/ folder publishes.
CREATE TABLE deb_release (
    content_id    bigint PRIMARY KEY REFERENCES content (id),
    distribution  text   NOT NULL,
    codename      text   NOT NULL,
    suite         text
);

-- A component of a release (deb.release_component).
CREATE TABLE deb_release_component (
    content_id  bigint PRIMARY KEY REFERENCES content (id),
    release_id  bigint NOT NULL REFERENCES content (id),
    component   text   NOT NULL
);

-- The packages of each release component (pulp_deb's package release components); a
-- publication publishes those its version holds.
CREATE TABLE deb_package_release_component (
    component_id  bigint NOT NULL REFERENCES content (id),
    package_id    bigint NOT NULL REFERENCES content (id),
    PRIMARY KEY (component_id, package_id)
);
