-- The approval rules of 0002 held only on the move out of submitted: a
-- rejected or cancelled export could still be moved to queued, and a
-- submitted one straight to building or ready, without its approvals; and
-- a decision by a researcher or pipeline counted as an approval.

-- An export leaves the states before approval (submitted, rejected,
-- cancelled) for any later state only with its required number of
-- approvals by distinct reviewers: two for free text or sensitive columns.
-- Moves between later states are not counted again, so exports approved
-- before dual approval existed still expire, fail and are revoked.
DROP TRIGGER exports_approvals_required ON exports;
CREATE TRIGGER exports_approvals_required BEFORE UPDATE OF state ON exports
FOR EACH ROW WHEN (OLD.state IN ('submitted', 'rejected', 'cancelled')
	AND NEW.state NOT IN ('submitted', 'rejected', 'cancelled'))
EXECUTE FUNCTION rexport_exports_approvals_required();

-- Only reviewers and admins decide on requests.
CREATE FUNCTION rexport_decisions_by_staff() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF coalesce((SELECT role FROM principals WHERE id = NEW.reviewer_id), '') NOT IN ('reviewer', 'admin') THEN
		RAISE EXCEPTION 'rexport: only reviewers and admins decide on requests';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER decisions_by_staff BEFORE INSERT ON decisions
FOR EACH ROW EXECUTE FUNCTION rexport_decisions_by_staff();
