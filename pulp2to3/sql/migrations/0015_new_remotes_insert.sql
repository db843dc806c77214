-- create_repositories inserts the remote artifacts of the remotes its batch created without
-- ON CONFLICT (issue 11); both of its statements read them through this function.

-- The remote artifacts of remote remotes[i] that the lazy catalog of importer importers[i]
-- gives (remote_artifact_input), each importer's read as one index range; inlined into the
-- statements that write them.
CREATE OR REPLACE FUNCTION pulp2to3_offered_remote_artifacts(importers text[], remotes bigint[])
    RETURNS TABLE (content_artifact_id bigint, remote_id bigint, url text, sha256 text,
                   size bigint)
    LANGUAGE sql STABLE AS $$
    SELECT i.content_artifact_id, m.remote_id, i.url, i.sha256, i.size
      FROM unnest(importers, remotes) AS m(importer_id, remote_id)
     CROSS JOIN LATERAL (
           SELECT * FROM remote_artifact_input AS i WHERE i.importer_id = m.importer_id OFFSET 0
           ) AS i
$$;
