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
CREATE TRIGGER decisions_not_own_request BEFORE INSERT ON decisions
WHEN NEW.reviewer_id = (SELECT requested_by FROM exports WHERE id = NEW.export_id)
BEGIN
	SELECT RAISE(ABORT, 'rexport: a principal may not decide on their own request');
END;

-- No export becomes approved or queued without its required number of
-- approvals by distinct reviewers: two for free text or sensitive columns.
CREATE TRIGGER exports_approvals_required BEFORE UPDATE OF state ON exports
WHEN NEW.state IN ('approved', 'queued') AND OLD.state = 'submitted'
	AND (SELECT count(DISTINCT reviewer_id) FROM decisions WHERE export_id = NEW.id AND approved = 1)
		< (CASE WHEN json_extract(NEW.request_json, '$.include_free_text') OR json_extract(NEW.request_json, '$.include_sensitive') THEN 2 ELSE 1 END)
BEGIN
	SELECT RAISE(ABORT, 'rexport: not enough distinct approvals');
END;

-- An export is created submitted, and only with a known state.
CREATE TRIGGER exports_insert_submitted BEFORE INSERT ON exports
WHEN NEW.state != 'submitted'
BEGIN
	SELECT RAISE(ABORT, 'rexport: an export starts submitted');
END;

CREATE TRIGGER exports_known_state BEFORE UPDATE OF state ON exports
WHEN NEW.state NOT IN ('submitted', 'rejected', 'cancelled', 'approved', 'queued', 'building', 'ready', 'failed', 'expired', 'revoked')
BEGIN
	SELECT RAISE(ABORT, 'rexport: unknown export state');
END;

-- The last entry of the audit log, so that removing entries from its end is
-- detected too. Written in the same transaction as each entry.
CREATE TABLE audit_head (
	singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
	last_id   INTEGER NOT NULL,
	hash      TEXT NOT NULL
);

INSERT INTO audit_head (singleton, last_id, hash)
SELECT 1, id, hash FROM audit_log ORDER BY id DESC LIMIT 1;
