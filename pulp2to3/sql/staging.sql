-- Named queries of premigrate: each part of the dump is COPYed into the premigrate_load_* tables
-- (schema.sql), then all of them are merged set-based into the pulp2_* staging tables, recording
-- what changed since the last run by clearing is_migrated. `part` then `seq` keep the dump order,
-- so that of two documents with the same key the later one wins, the same way every time.
-- The units, their catalog entries and the memberships are merged in key ranges ($2 of $1:
-- `(hashtext(key) & 2147483647) % $1 = $2`), a unit's range by its Pulp 2 id, a membership's by
-- its repository: each range writes only its own rows of pulp2_content, pulp2_lazy_catalog,
-- pulp2_repo_content and pulp2_repository, so ranges merged at once never wait on each other.

-- staging_clear_load_tables --
-- Forget what a failed load left, as a new one is planned. DELETE, not TRUNCATE: the
-- coordinator runs it, and must not wait on a lock held by a worker cut off from the server
DELETE FROM premigrate_load_part;
DELETE FROM premigrate_load_part_present;
DELETE FROM premigrate_merge_range;
DELETE FROM premigrate_load_repository;
DELETE FROM premigrate_load_importer;
DELETE FROM premigrate_load_distributor;
DELETE FROM premigrate_load_repo_content;
DELETE FROM premigrate_load_content;
DELETE FROM premigrate_load_lazy_catalog

-- staging_empty_load_tables --
-- Empty the load tables: the merge is done, or a load of the whole dump starts
TRUNCATE premigrate_load_part, premigrate_load_part_present, premigrate_merge_range,
         premigrate_load_repository,
         premigrate_load_importer,
         premigrate_load_distributor, premigrate_load_repo_content, premigrate_load_content,
         premigrate_load_lazy_catalog

-- staging_part_was_loaded --
-- Whether an earlier attempt loaded part $1 (it committed, then its worker died before the
-- queue heard of it)
SELECT EXISTS (SELECT FROM premigrate_load_part WHERE part = $1)

-- staging_lock_load_parts --
-- Take turns at the parts' bookkeeping (held until commit)
SELECT pg_advisory_xact_lock(hashtext('premigrate_load_part'))

-- staging_forget_part --
-- Forget part $1 and its rows (under staging_lock_load_parts, so that no part counts it loaded
-- while it loads again)
WITH r AS (DELETE FROM premigrate_load_repository WHERE part = $1),
     i AS (DELETE FROM premigrate_load_importer WHERE part = $1),
     d AS (DELETE FROM premigrate_load_distributor WHERE part = $1),
     m AS (DELETE FROM premigrate_load_repo_content WHERE part = $1),
     c AS (DELETE FROM premigrate_load_content WHERE part = $1),
     l AS (DELETE FROM premigrate_load_lazy_catalog WHERE part = $1),
     p AS (DELETE FROM premigrate_load_part_present WHERE part = $1)
DELETE FROM premigrate_load_part WHERE part = $1

-- staging_load_as_part --
-- The rows COPYed from now on in this transaction are part $1's (the load tables' default)
SELECT set_config('premigrate.part', $1, true)

-- staging_part_loaded --
-- Part $1 of $2, the collections $3 (NULL: all), is loaded (under staging_lock_load_parts: the
-- parts' checks take turns, each seeing the parts committed before it, so that of parts that
-- finish together exactly one, the last to commit, sees them all)
WITH present AS (INSERT INTO premigrate_load_part_present (part) VALUES ($1))
INSERT INTO premigrate_load_part (part, parts, collections) VALUES ($1, $2, $3)

-- staging_lost_parts --
-- The loaded parts whose rows the load tables no longer hold (PostgreSQL recovered from a crash
-- since), with their collections
SELECT part, collections
  FROM premigrate_load_part AS p
 WHERE NOT EXISTS (SELECT FROM premigrate_load_part_present AS q WHERE q.part = p.part)
 ORDER BY part

-- staging_part_present --
-- The rows of lost part $1 are loaded again
INSERT INTO premigrate_load_part_present (part) VALUES ($1)

-- staging_dump_loaded --
-- Whether the load tables hold every part of a dump, to merge (a range run again after the last
-- one emptied them has nothing to do, nor with a part loaded again since: only a whole dump
-- says which memberships and catalog entries are gone)
SELECT count(*) > 0 AND count(*) = min(parts) AND min(parts) = max(parts)
  FROM premigrate_load_part

-- staging_range_was_merged --
-- Whether range $1 is merged already (it committed, then its worker died before the queue
-- heard of it)
SELECT EXISTS (SELECT FROM premigrate_merge_range WHERE range = $1)

-- staging_range_merged --
-- Range $1 of $2 is merged (under staging_lock_load_parts, as staging_part_loaded)
INSERT INTO premigrate_merge_range (range, ranges) VALUES ($1, $2)

-- staging_all_ranges_merged --
-- Whether ranges 0 to $1 - 1 are all merged (after staging_range_merged, in the same
-- transaction)
SELECT count(*) = $1 FROM premigrate_merge_range WHERE ranges = $1 AND range < $1

-- staging_all_parts_loaded --
-- Whether parts 0 to $1 - 1 are all loaded (after staging_part_loaded, in the same transaction)
SELECT count(*) = $1 FROM premigrate_load_part WHERE parts = $1 AND part < $1

-- staging_merge_work_mem --
-- The merges sort the loaded rows by key (DISTINCT ON): in memory rather than in files, for the
-- rest of the merge's transaction (at 64 MB, the units of a range of 500,000 went to a 158 MB
-- file: 2.0 s more of 22.5 for two ranges of 1,000,000 units)
SET LOCAL work_mem = '256MB'

-- staging_analyze_load_tables --
-- The load tables were empty a moment ago: give the planner their statistics before the merges
ANALYZE premigrate_load_repository, premigrate_load_importer, premigrate_load_distributor,
        premigrate_load_repo_content, premigrate_load_content, premigrate_load_lazy_catalog

-- staging_merge_repositories --
-- Upsert the repositories by repo_id; one whose units were added or removed since the last run
-- is to be migrated again. Returns how many rows were inserted and updated
WITH by_object AS (
    SELECT DISTINCT ON (pulp2_object_id) *
      FROM premigrate_load_repository
     ORDER BY pulp2_object_id, part DESC, seq DESC
), latest AS (
    SELECT DISTINCT ON (pulp2_repo_id) *
      FROM by_object
     ORDER BY pulp2_repo_id, part DESC, seq DESC
), merged AS (
    INSERT INTO pulp2_repository AS r (pulp2_object_id, pulp2_repo_id, pulp2_repo_type,
                                       content_unit_counts, last_unit_added, last_unit_removed)
    SELECT pulp2_object_id, pulp2_repo_id, pulp2_repo_type, content_unit_counts,
           last_unit_added, last_unit_removed
      FROM latest
        ON CONFLICT (pulp2_repo_id) DO UPDATE
       SET pulp2_object_id = EXCLUDED.pulp2_object_id,
           pulp2_repo_type = EXCLUDED.pulp2_repo_type,
           content_unit_counts = EXCLUDED.content_unit_counts,
           last_unit_added = EXCLUDED.last_unit_added,
           last_unit_removed = EXCLUDED.last_unit_removed,
           is_migrated = r.is_migrated
               AND (r.pulp2_object_id, r.last_unit_added, r.last_unit_removed)
                   IS NOT DISTINCT FROM
                   (EXCLUDED.pulp2_object_id, EXCLUDED.last_unit_added, EXCLUDED.last_unit_removed)
     WHERE (r.pulp2_object_id, r.pulp2_repo_type, r.content_unit_counts, r.last_unit_added,
            r.last_unit_removed)
           IS DISTINCT FROM
           (EXCLUDED.pulp2_object_id, EXCLUDED.pulp2_repo_type, EXCLUDED.content_unit_counts,
            EXCLUDED.last_unit_added, EXCLUDED.last_unit_removed)
    RETURNING xmax = 0 AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) AS updated
  FROM merged

-- staging_importer_configs --
-- The staged config of each importer of $1 (object ids)
SELECT pulp2_object_id, config
  FROM pulp2_importer
 WHERE pulp2_object_id = ANY($1::text[])

-- staging_merge_importers --
-- Upsert the importers by repo_id (one per repository); one whose last_updated, type or config
-- changed is to be migrated again. Returns how many rows were inserted and updated
WITH by_object AS (
    SELECT DISTINCT ON (pulp2_object_id) *
      FROM premigrate_load_importer
     ORDER BY pulp2_object_id, part DESC, seq DESC
), latest AS (
    SELECT DISTINCT ON (pulp2_repo_id) *
      FROM by_object
     ORDER BY pulp2_repo_id, part DESC, seq DESC
), merged AS (
    INSERT INTO pulp2_importer AS i (pulp2_object_id, pulp2_repo_id, importer_type_id, config,
                                     last_updated)
    SELECT pulp2_object_id, pulp2_repo_id, importer_type_id, config, last_updated
      FROM latest
        ON CONFLICT (pulp2_repo_id) DO UPDATE
       SET pulp2_object_id = EXCLUDED.pulp2_object_id,
           importer_type_id = EXCLUDED.importer_type_id,
           config = EXCLUDED.config,
           last_updated = EXCLUDED.last_updated,
           is_migrated = false
     WHERE (i.pulp2_object_id, i.importer_type_id, i.config, i.last_updated)
           IS DISTINCT FROM
           (EXCLUDED.pulp2_object_id, EXCLUDED.importer_type_id, EXCLUDED.config,
            EXCLUDED.last_updated)
    RETURNING xmax = 0 AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) AS updated
  FROM merged

-- staging_merge_distributors --
-- Upsert the distributors by (repo_id, distributor_id); one whose last_updated, type or config
-- changed is to be migrated again (a new last_publish or auto_publish alone is only recorded).
-- Returns how many rows were inserted and updated
WITH by_object AS (
    SELECT DISTINCT ON (pulp2_object_id) *
      FROM premigrate_load_distributor
     ORDER BY pulp2_object_id, part DESC, seq DESC
), latest AS (
    SELECT DISTINCT ON (pulp2_repo_id, distributor_id) *
      FROM by_object
     ORDER BY pulp2_repo_id, distributor_id, part DESC, seq DESC
), merged AS (
    INSERT INTO pulp2_distributor AS d (pulp2_object_id, pulp2_repo_id, distributor_id,
                                        distributor_type_id, config, auto_publish, last_publish,
                                        last_updated)
    SELECT pulp2_object_id, pulp2_repo_id, distributor_id, distributor_type_id, config,
           auto_publish, last_publish, last_updated
      FROM latest
        ON CONFLICT (pulp2_repo_id, distributor_id) DO UPDATE
       SET pulp2_object_id = EXCLUDED.pulp2_object_id,
           distributor_type_id = EXCLUDED.distributor_type_id,
           config = EXCLUDED.config,
           auto_publish = EXCLUDED.auto_publish,
           last_publish = EXCLUDED.last_publish,
           last_updated = EXCLUDED.last_updated,
           is_migrated = d.is_migrated
               AND (d.pulp2_object_id, d.distributor_type_id, d.config, d.last_updated)
                   IS NOT DISTINCT FROM
                   (EXCLUDED.pulp2_object_id, EXCLUDED.distributor_type_id, EXCLUDED.config,
                    EXCLUDED.last_updated)
     WHERE (d.pulp2_object_id, d.distributor_type_id, d.config, d.auto_publish, d.last_publish,
            d.last_updated)
           IS DISTINCT FROM
           (EXCLUDED.pulp2_object_id, EXCLUDED.distributor_type_id, EXCLUDED.config,
            EXCLUDED.auto_publish, EXCLUDED.last_publish, EXCLUDED.last_updated)
    RETURNING xmax = 0 AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) AS updated
  FROM merged

-- staging_merge_content --
-- Upsert the units by their Pulp 2 id; one whose _last_updated grew (or whose file, download
-- state or fields changed) is to be migrated again; units absent from this dump stay as they
-- are. Returns how many rows were inserted and updated. An update of the rows there and an
-- insert of the others, not INSERT ... ON CONFLICT: no other writer has the range's keys, and
-- the speculative insert's extra probe per row was a quarter of the statement (6.5 -> 5.0 s for
-- 500,000 units)
WITH latest AS (
    SELECT DISTINCT ON (pulp2_id)
           pulp2_id, content_type, last_updated, storage_path, downloaded, fields::jsonb AS fields
      FROM premigrate_load_content
     WHERE (hashtext(pulp2_id) & 2147483647) % $1 = $2
     ORDER BY pulp2_id, part DESC, seq DESC
), updated AS (
    UPDATE pulp2_content AS c
       SET content_type = l.content_type,
           last_updated = l.last_updated,
           storage_path = l.storage_path,
           downloaded = l.downloaded,
           fields = l.fields,
           is_migrated = c.is_migrated
               AND l.last_updated <= c.last_updated
               AND (c.content_type, c.storage_path, c.downloaded, c.fields)
                   IS NOT DISTINCT FROM
                   (l.content_type, l.storage_path, l.downloaded, l.fields)
      FROM latest AS l
     WHERE c.pulp2_id = l.pulp2_id
       AND (c.content_type, c.last_updated, c.storage_path, c.downloaded, c.fields)
           IS DISTINCT FROM
           (l.content_type, l.last_updated, l.storage_path, l.downloaded, l.fields)
    RETURNING 1
), inserted AS (
    INSERT INTO pulp2_content (pulp2_id, content_type, last_updated, storage_path, downloaded,
                               fields)
    SELECT l.pulp2_id, l.content_type, l.last_updated, l.storage_path, l.downloaded, l.fields
      FROM latest AS l
     WHERE NOT EXISTS (SELECT FROM pulp2_content AS c WHERE c.pulp2_id = l.pulp2_id)
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM updated) AS updated

-- staging_delete_vanished_lazy_catalog --
-- For the units of the range in this dump, forget catalog entries the dump no longer has (entries of units
-- that vanished stay, as the units do); their units are to be migrated again. Returns how many
-- entries went
WITH gone AS (
    DELETE FROM pulp2_lazy_catalog AS e
     WHERE (hashtext(e.pulp2_unit_id) & 2147483647) % $1 = $2
       AND EXISTS (SELECT 1 FROM premigrate_load_content AS u WHERE u.pulp2_id = e.pulp2_unit_id)
       AND NOT EXISTS (SELECT 1
                         FROM premigrate_load_lazy_catalog AS l
                        WHERE l.pulp2_unit_id = e.pulp2_unit_id
                          AND l.importer_id = e.importer_id
                          AND l.url = e.url)
    RETURNING e.pulp2_unit_id
), flagged AS (
    UPDATE pulp2_content AS c
       SET is_migrated = false
     WHERE c.is_migrated
       AND c.pulp2_id IN (SELECT pulp2_unit_id FROM gone)
)
SELECT count(*) AS deleted FROM gone

-- staging_merge_lazy_catalog --
-- Upsert the catalog entries of the range's units in this dump (an update and an insert, as
-- staging_merge_content); a unit with a new or changed entry is to be migrated again (its
-- remote artifacts changed). Returns how many rows were inserted and updated
WITH latest AS (
    SELECT DISTINCT ON (l.pulp2_unit_id, l.importer_id, l.url) l.*
      FROM premigrate_load_lazy_catalog AS l
     WHERE (hashtext(l.pulp2_unit_id) & 2147483647) % $1 = $2
       AND EXISTS (SELECT 1 FROM premigrate_load_content AS u WHERE u.pulp2_id = l.pulp2_unit_id)
     ORDER BY l.pulp2_unit_id, l.importer_id, l.url, l.part DESC, l.seq DESC
), updated AS (
    UPDATE pulp2_lazy_catalog AS e
       SET unit_type_id = l.unit_type_id,
           path = l.path,
           checksum = l.checksum,
           checksum_algorithm = l.checksum_algorithm,
           revision = l.revision
      FROM latest AS l
     WHERE (e.pulp2_unit_id, e.importer_id, e.url) = (l.pulp2_unit_id, l.importer_id, l.url)
       AND (e.unit_type_id, e.path, e.checksum, e.checksum_algorithm, e.revision)
           IS DISTINCT FROM
           (l.unit_type_id, l.path, l.checksum, l.checksum_algorithm, l.revision)
    RETURNING e.pulp2_unit_id
), inserted AS (
    INSERT INTO pulp2_lazy_catalog (pulp2_unit_id, unit_type_id, importer_id, url, path, checksum,
                                    checksum_algorithm, revision)
    SELECT l.pulp2_unit_id, l.unit_type_id, l.importer_id, l.url, l.path, l.checksum,
           l.checksum_algorithm, l.revision
      FROM latest AS l
     WHERE NOT EXISTS (SELECT FROM pulp2_lazy_catalog AS e
                        WHERE (e.pulp2_unit_id, e.importer_id, e.url)
                              = (l.pulp2_unit_id, l.importer_id, l.url))
    RETURNING pulp2_unit_id
), flagged AS (
    -- Skipped while no unit is migrated (a first migration): a probe per unit of the catalog
    -- (2.3 s of 5.8 at 100,000 units) for nothing.
    UPDATE pulp2_content AS c
       SET is_migrated = false
     WHERE EXISTS (SELECT FROM pulp2_content WHERE is_migrated)
       AND c.is_migrated
       AND c.pulp2_id IN (SELECT pulp2_unit_id FROM updated
                          UNION ALL
                          SELECT pulp2_unit_id FROM inserted)
)
SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM updated) AS updated

-- staging_delete_vanished_repo_content --
-- Memberships of the staged content types ($3) in the range's repositories are exactly this
-- dump's: forget those it no longer has, and those of units it no longer has, so that no new
-- repository version refers to a vanished unit; their repositories are to be migrated again.
-- Returns how many went
WITH gone AS (
    DELETE FROM pulp2_repo_content AS m
     WHERE m.unit_type_id = ANY ($3::text[])
       AND (hashtext(m.pulp2_repo_id) & 2147483647) % $1 = $2
       -- One NOT EXISTS (an anti-join), not two ORed (a subplan run once per membership).
       AND NOT EXISTS (SELECT 1
                         FROM premigrate_load_repo_content AS l
                         JOIN premigrate_load_content AS u ON u.pulp2_id = l.pulp2_unit_id
                        WHERE (hashtext(l.pulp2_repo_id) & 2147483647) % $1 = $2
                          AND l.pulp2_repo_id = m.pulp2_repo_id
                          AND l.pulp2_unit_id = m.pulp2_unit_id)
    RETURNING m.pulp2_repo_id
), flagged AS (
    UPDATE pulp2_repository AS r
       SET is_migrated = false
     WHERE r.is_migrated
       AND r.pulp2_repo_id IN (SELECT pulp2_repo_id FROM gone)
)
SELECT count(*) AS deleted FROM gone

-- staging_merge_repo_content --
-- Upsert this dump's memberships of the range's repositories whose unit is in the dump (an
-- update and an insert, as staging_merge_content); a repository that gained one is to be
-- migrated again (new created/updated stamps alone are only recorded). Returns how many rows
-- were inserted and updated
WITH latest AS (
    SELECT DISTINCT ON (l.pulp2_repo_id, l.pulp2_unit_id) l.*
      FROM premigrate_load_repo_content AS l
     WHERE (hashtext(l.pulp2_repo_id) & 2147483647) % $1 = $2
       AND EXISTS (SELECT 1 FROM premigrate_load_content AS u WHERE u.pulp2_id = l.pulp2_unit_id)
     ORDER BY l.pulp2_repo_id, l.pulp2_unit_id, l.part DESC, l.seq DESC
), updated AS (
    UPDATE pulp2_repo_content AS m
       SET unit_type_id = l.unit_type_id,
           created = l.created,
           updated = l.updated
      FROM latest AS l
     WHERE (m.pulp2_repo_id, m.pulp2_unit_id) = (l.pulp2_repo_id, l.pulp2_unit_id)
       AND (m.unit_type_id, m.created, m.updated)
           IS DISTINCT FROM
           (l.unit_type_id, l.created, l.updated)
    RETURNING 1
), inserted AS (
    INSERT INTO pulp2_repo_content (pulp2_repo_id, pulp2_unit_id, unit_type_id, created, updated)
    SELECT l.pulp2_repo_id, l.pulp2_unit_id, l.unit_type_id, l.created, l.updated
      FROM latest AS l
     WHERE NOT EXISTS (SELECT FROM pulp2_repo_content AS m
                        WHERE (m.pulp2_repo_id, m.pulp2_unit_id)
                              = (l.pulp2_repo_id, l.pulp2_unit_id))
    RETURNING pulp2_repo_id
), flagged AS (
    UPDATE pulp2_repository AS r
       SET is_migrated = false
     WHERE r.is_migrated
       AND r.pulp2_repo_id IN (SELECT pulp2_repo_id FROM inserted)
)
SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM updated) AS updated

-- staging_mark_not_in_plan --
-- not_in_plan: true for every repository the plan names neither by repo_id ($1) nor by a
-- whole repository type ($2, for a plugin listed without repositories). Returns how many changed
WITH wanted AS (
    SELECT id,
           NOT (pulp2_repo_id = ANY ($1::text[])
                OR coalesce(pulp2_repo_type = ANY ($2::text[]), false)) AS not_in_plan
      FROM pulp2_repository
), changed AS (
    UPDATE pulp2_repository AS r
       SET not_in_plan = w.not_in_plan
      FROM wanted AS w
     WHERE r.id = w.id
       AND r.not_in_plan <> w.not_in_plan
    RETURNING r.id
)
SELECT count(*) AS changed FROM changed

-- staging_remove_unplanned_distributions --
-- The distributions that distributors of repositories outside the plan became are removed
-- (their repositories, versions and publications stay, as pulp-2to3-migration did), unless a
-- distributor of the plan serves through the same one. Returns how many
WITH unplanned AS (
    SELECT d.id, d.pulp3_distribution_id AS distribution_id
      FROM pulp2_distributor AS d
      JOIN pulp2_repository AS r ON r.pulp2_repo_id = d.pulp2_repo_id
     WHERE r.not_in_plan AND d.pulp3_distribution_id IS NOT NULL
), unmarked AS (
    UPDATE pulp2_distributor AS d
       SET pulp3_distribution_id = NULL, is_migrated = false
      FROM unplanned AS u
     WHERE d.id = u.id
), removed AS (
    DELETE FROM distribution
     WHERE id IN (SELECT distribution_id FROM unplanned)
       AND NOT EXISTS (SELECT FROM pulp2_distributor AS d
                         JOIN pulp2_repository AS r ON r.pulp2_repo_id = d.pulp2_repo_id
                        WHERE d.pulp3_distribution_id = distribution.id AND NOT r.not_in_plan)
    RETURNING id
)
SELECT count(*) FROM removed
