-- Governance: token expiry and revocation, dual approval backed by the
-- database, build generations, file deletion times, and the audit head.

ALTER TABLE principals ADD COLUMN expires_at TEXT NOT NULL DEFAULT '';
ALTER TABLE principals ADD COLUMN revoked_at TEXT NOT NULL DEFAULT '';
ALTER TABLE principals ADD COLUMN last_used_at TEXT NOT NULL DEFAULT '';

ALTER TABLE exports ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE exports ADD COLUMN files_deleted_at TEXT NOT NULL DEFAULT '';

-- A reviewer decides on a request once.
CREATE UNIQUE INDEX decisions_one_per_reviewer ON decisions (export_id, reviewer_id);

-- Nobody decides on their own request.
CREATE FUNCTION rexport_decisions_not_own_request() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.reviewer_id = (SELECT requested_by FROM exports WHERE id = NEW.export_id) THEN
		RAISE EXCEPTION 'rexport: a principal may not decide on their own request';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER decisions_not_own_request BEFORE INSERT ON decisions
FOR EACH ROW EXECUTE FUNCTION rexport_decisions_not_own_request();

-- The approvals a request needs: two for free text or sensitive columns.
CREATE FUNCTION rexport_approvals_needed(request_json TEXT) RETURNS INTEGER LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN request_json::jsonb -> 'include_free_text' = 'true'::jsonb
		OR request_json::jsonb -> 'include_sensitive' = 'true'::jsonb THEN 2 ELSE 1 END
$$;

-- No export becomes approved or queued without its required number of
-- approvals by distinct reviewers.
CREATE FUNCTION rexport_exports_approvals_required() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT count(DISTINCT reviewer_id) FROM decisions WHERE export_id = NEW.id AND approved)
		< rexport_approvals_needed(NEW.request_json) THEN
		RAISE EXCEPTION 'rexport: not enough distinct approvals';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER exports_approvals_required BEFORE UPDATE OF state ON exports
FOR EACH ROW WHEN (NEW.state IN ('approved', 'queued') AND OLD.state = 'submitted')
EXECUTE FUNCTION rexport_exports_approvals_required();

-- An export is created submitted, and only with a known state.
CREATE FUNCTION rexport_exports_insert_submitted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'rexport: an export starts submitted';
END
$$;
CREATE TRIGGER exports_insert_submitted BEFORE INSERT ON exports
FOR EACH ROW WHEN (NEW.state != 'submitted')
EXECUTE FUNCTION rexport_exports_insert_submitted();

CREATE FUNCTION rexport_exports_known_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'rexport: unknown export state';
END
$$;
CREATE TRIGGER exports_known_state BEFORE UPDATE OF state ON exports
FOR EACH ROW WHEN (NEW.state NOT IN ('submitted', 'rejected', 'cancelled', 'approved', 'queued', 'building', 'ready', 'failed', 'expired', 'revoked'))
EXECUTE FUNCTION rexport_exports_known_state();

-- The last entry of the audit log, so that removing entries from its end is
-- detected too. Written in the same transaction as each entry. Unlike in
-- SQLite, the row exists from here on, for an empty log too: writers lock
-- it (SELECT ... FOR UPDATE) to take turns appending, and a row that does
-- not exist yet cannot be locked.
CREATE TABLE audit_head (
	singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
	last_id   BIGINT NOT NULL,
	hash      TEXT NOT NULL
);

INSERT INTO audit_head (singleton, last_id, hash)
SELECT 1, coalesce(max(id), 0), coalesce((SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1), '') FROM audit_log;
