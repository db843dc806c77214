-- premigrate's merge in key ranges that workers run at once (issue 11): the step
-- premigrate_merge records here the ranges merged, and the last one empties the load tables.

CREATE TABLE IF NOT EXISTS premigrate_merge_range (
    range   integer PRIMARY KEY,
    ranges  integer NOT NULL
);
