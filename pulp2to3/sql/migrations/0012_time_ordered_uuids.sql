-- New rows get time-ordered UUIDs (schema.sql says why); the rows already there keep theirs.
CREATE OR REPLACE FUNCTION pulp2to3_uuid7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT encode(
               set_bit(set_bit(  -- version 4's bits 0100 become 0111
                   overlay(uuid_send(gen_random_uuid())
                           PLACING substring(int8send(
                               (extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                           FROM 1 FOR 6),
                   52, 1), 53, 1),
               'hex')::uuid
$$;

ALTER TABLE migration_plan ALTER COLUMN id SET DEFAULT pulp2to3_uuid7();
ALTER TABLE migration ALTER COLUMN id SET DEFAULT pulp2to3_uuid7();
ALTER TABLE pulp2_repository ALTER COLUMN pulp_id SET DEFAULT pulp2to3_uuid7();
ALTER TABLE pulp2_content ALTER COLUMN pulp_id SET DEFAULT pulp2to3_uuid7();
ALTER TABLE content ALTER COLUMN pulp_id SET DEFAULT pulp2to3_uuid7();
ALTER TABLE remote ALTER COLUMN pulp_id SET DEFAULT pulp2to3_uuid7();
ALTER TABLE repository ALTER COLUMN pulp_id SET DEFAULT pulp2to3_uuid7();
ALTER TABLE repository_version ALTER COLUMN pulp_id SET DEFAULT pulp2to3_uuid7();
ALTER TABLE publication ALTER COLUMN pulp_id SET DEFAULT pulp2to3_uuid7();
ALTER TABLE distribution ALTER COLUMN pulp_id SET DEFAULT pulp2to3_uuid7();
