-- The approval rules of 0002 held only on the move out of submitted: a
-- rejected or cancelled export could still be moved to queued, and a
-- submitted one straight to building or ready, without its approvals; and
-- a decision by a researcher or pipeline counted as an approval.

-- An export leaves the states before approval (submitted, rejected,
-- cancelled) for any later state only with its required number of
-- approvals by distinct reviewers: two for free text or sensitive columns.
-- Moves between later states are not counted again, so exports approved
-- before dual approval existed still expire, fail and are revoked.
DROP TRIGGER exports_approvals_required;
CREATE TRIGGER exports_approvals_required BEFORE UPDATE OF state ON exports
WHEN OLD.state IN ('submitted', 'rejected', 'cancelled')
	AND NEW.state NOT IN ('submitted', 'rejected', 'cancelled')
	AND (SELECT count(DISTINCT reviewer_id) FROM decisions WHERE export_id = NEW.id AND approved = 1)
		< (CASE WHEN json_extract(NEW.request_json, '$.include_free_text') OR json_extract(NEW.request_json, '$.include_sensitive') THEN 2 ELSE 1 END)
BEGIN
	SELECT RAISE(ABORT, 'rexport: not enough distinct approvals');
END;

-- Only reviewers and admins decide on requests.
CREATE TRIGGER decisions_by_staff BEFORE INSERT ON decisions
WHEN coalesce((SELECT role FROM principals WHERE id = NEW.reviewer_id), '') NOT IN ('reviewer', 'admin')
BEGIN
	SELECT RAISE(ABORT, 'rexport: only reviewers and admins decide on requests');
END;
