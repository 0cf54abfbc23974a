-- Recurring requests: each run is an export of its own, in a series named
-- by the first run's id, covering the event times [window_from, window_to).
ALTER TABLE exports ADD COLUMN series_id TEXT NOT NULL DEFAULT '';
ALTER TABLE exports ADD COLUMN run INTEGER NOT NULL DEFAULT 0;
ALTER TABLE exports ADD COLUMN window_from TEXT NOT NULL DEFAULT '';
ALTER TABLE exports ADD COLUMN window_to TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX exports_series_run ON exports (series_id, run) WHERE series_id != '';

-- Tokens created before expiry existed get the default lifetime from their
-- creation, instead of never expiring.
UPDATE principals SET expires_at = to_char((created_at::timestamptz + interval '90 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
WHERE expires_at = '';
