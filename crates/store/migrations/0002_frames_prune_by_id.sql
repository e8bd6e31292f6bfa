-- The raw frame log is the most-written table; its `at` index cost an index insert per frame and
-- was only used by the hourly retention prune, which now walks the primary key instead (frames
-- are logged in time order).
DROP INDEX frames_at;
