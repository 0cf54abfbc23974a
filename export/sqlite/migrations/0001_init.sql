-- Metadata: partners and their agreements, principals and token hashes,
-- export requests with their decisions, and the audit log.
CREATE TABLE partners (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	dua_json   TEXT NOT NULL,
	created_at TEXT NOT NULL
);

-- A course belongs to at most one partner.
CREATE TABLE partner_courses (
	course_id  TEXT PRIMARY KEY,
	partner_id TEXT NOT NULL REFERENCES partners (id)
);
CREATE INDEX partner_courses_partner ON partner_courses (partner_id);

CREATE TABLE principals (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL CHECK (role IN ('researcher', 'pipeline', 'reviewer', 'admin')),
	partner_id TEXT REFERENCES partners (id),
	token_hash BLOB NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	CHECK ((role IN ('researcher', 'pipeline')) = (partner_id IS NOT NULL))
);

CREATE TABLE exports (
	id             TEXT PRIMARY KEY,
	partner_id     TEXT NOT NULL REFERENCES partners (id),
	requested_by   TEXT NOT NULL REFERENCES principals (id),
	request_json   TEXT NOT NULL,
	state          TEXT NOT NULL,
	key_version    INTEGER NOT NULL DEFAULT 0,
	rows_written   INTEGER NOT NULL DEFAULT 0,
	rows_estimated INTEGER NOT NULL DEFAULT 0,
	files_json     TEXT NOT NULL DEFAULT '[]',
	error          TEXT NOT NULL DEFAULT '',
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL,
	ready_at       TEXT NOT NULL DEFAULT '',
	expires_at     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX exports_partner_created ON exports (partner_id, created_at);

CREATE TABLE decisions (
	export_id   TEXT NOT NULL REFERENCES exports (id),
	reviewer_id TEXT NOT NULL REFERENCES principals (id),
	approved    INTEGER NOT NULL,
	reason      TEXT NOT NULL,
	at          TEXT NOT NULL
);
CREATE INDEX decisions_export ON decisions (export_id);

-- Each entry's hash covers the previous entry's hash, so editing or
-- deleting a past entry breaks the chain.
CREATE TABLE audit_log (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	at           TEXT NOT NULL,
	principal_id TEXT NOT NULL,
	action       TEXT NOT NULL,
	export_id    TEXT NOT NULL,
	partner_id   TEXT NOT NULL,
	detail       TEXT NOT NULL,
	prev_hash    TEXT NOT NULL,
	hash         TEXT NOT NULL
);
CREATE INDEX audit_log_export ON audit_log (export_id);

CREATE TABLE key_versions (
	version    INTEGER PRIMARY KEY,
	created_at TEXT NOT NULL
);
