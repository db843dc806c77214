-- Each step records the steps that must complete before it starts: the coordinator runs the
-- steps as a graph. The steps of earlier migrations ran one after the other, and keep doing so
-- (an unfinished one resumes as it began): each needs the step before it.
ALTER TABLE migration_step ADD COLUMN needs text[] NOT NULL DEFAULT '{}';

UPDATE migration_step AS s
   SET needs = ARRAY[p.code]
  FROM migration_step AS p
 WHERE p.report_id = s.report_id AND p.position = s.position - 1;
