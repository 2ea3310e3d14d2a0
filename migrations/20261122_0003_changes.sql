-- Change tracking for the in-process count index (src/find/facets.ts): every profile row
-- remembers the transaction that last wrote it, and deletions leave a tombstone. A reader
-- holding an older snapshot finds exactly what changed since with an index range scan.

ALTER TABLE profiles ADD COLUMN writer xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX profiles_writer_idx ON profiles (base_id, writer);

CREATE FUNCTION kt_touch_writer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.writer := pg_current_xact_id();
  RETURN NEW;
END $$;
CREATE TRIGGER profiles_touch_writer BEFORE UPDATE ON profiles FOR EACH ROW EXECUTE FUNCTION kt_touch_writer();

CREATE TABLE profile_tombstones (
  base_id  bigint NOT NULL,
  id       bigint NOT NULL,
  writer   xid8 NOT NULL DEFAULT pg_current_xact_id(),
  at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (base_id, writer, id)
);
CREATE INDEX profile_tombstones_at_idx ON profile_tombstones (at);

CREATE FUNCTION kt_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO profile_tombstones (base_id, id) SELECT base_id, id FROM old_rows;
  RETURN NULL;
END $$;
CREATE TRIGGER profiles_tombstone AFTER DELETE ON profiles REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION kt_tombstone();
