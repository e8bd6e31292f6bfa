-- Demo data (the simulated fleet started by `--demo`) is marked so it can be told apart and removed
-- in one step.
ALTER TABLE stations ADD COLUMN demo INTEGER NOT NULL DEFAULT 0;
ALTER TABLE id_tags ADD COLUMN demo INTEGER NOT NULL DEFAULT 0;
