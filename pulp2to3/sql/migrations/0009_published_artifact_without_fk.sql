-- A publication's published artifacts are written only in the transaction that makes it, and
-- a reset deletes them with it: the foreign key's check of every row (a tenth of a publication
-- batch at 1,000,000 units) goes, as repository_content has none.
ALTER TABLE published_artifact DROP CONSTRAINT published_artifact_publication_id_fkey;
