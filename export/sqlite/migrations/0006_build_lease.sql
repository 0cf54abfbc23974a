-- Build leases: a worker that dies mid-build leaves its export building.
-- The build that owns an export names itself in build_lease and renews
-- lease_renewed_at while it runs; another worker takes over only a lease
-- that went stale, and only the owner may record progress, finish or fail
-- the build. A ready export's files are under <id>/<build_lease>/.
ALTER TABLE exports ADD COLUMN build_lease TEXT NOT NULL DEFAULT '';
ALTER TABLE exports ADD COLUMN lease_renewed_at TEXT NOT NULL DEFAULT '';
-- How often the current build of an export lost its worker; past a limit
-- the export fails instead of being requeued again.
ALTER TABLE exports ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0;
