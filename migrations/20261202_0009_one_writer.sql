-- One profile writer (issue 10): every event says where its write came from in a column of its own,
-- and its changes in one format (created: the values; updated: from -> to; merged: whom, why, what was
-- filled). Imports wrote {import, line} as their changes; that moves to the source.
ALTER TABLE profile_events ADD COLUMN source jsonb NOT NULL DEFAULT '{}';
UPDATE profile_events SET source = jsonb_build_object('import', changes -> 'import', 'line', changes -> 'line'), changes = '{}'
WHERE changes ? 'import';
