-- Profiles partitioned by base (issue 10), and quick search over every value of the card.
--
-- Why partitions: each base's profiles are a table of their own, so
--  * the planner sees each base's real size and statistics (one shared table gave a new base an
--    estimate of about one row, and imports into a second base turned into per-row rescans);
--  * a big import into an empty base can load a bare table and build its indexes once, then attach it;
--  * the partition bound replaces the per-row foreign key to bases (5-6 µs a row on every insert);
--  * deleting a base drops a table instead of deleting its rows one by one.
-- Keys stay (base_id, …) for Citus. Ids come from a sequence, not an identity column: PostgreSQL
-- 15 and 16 allow no identity on a partitioned table. base_id leads only the unique indexes (a unique
-- index must hold the partition key); the others index one base each and leave it out.
--
-- Quick search looks at every value of the card, in two halves:
--  * words (kt_words): names, city, point of sale, UTM — few distinct values, which the in-memory count
--    index decides from its dictionaries;
--  * identifiers (the stored `search` column): email, card, car number, phone digits, extra keys,
--    referral id and custom text — nearly unique, left to a trigram index. Custom text is read by a
--    jsonpath (no SQL-function subquery per row: ≈16 → ≈9 µs a row on insert).

-- 1. The old table steps aside; its secondary indexes go (they are rebuilt on the new one).
ALTER TABLE profile_merges DROP CONSTRAINT profile_merges_base_id_into_id_fkey;
ALTER TABLE profile_events DROP CONSTRAINT profile_events_base_id_profile_id_fkey;
ALTER TABLE segment_members DROP CONSTRAINT segment_members_base_id_profile_id_fkey;
ALTER TABLE profiles RENAME TO profiles_0007;
DO $$
DECLARE i record;
BEGIN
  FOR i IN SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'profiles_0007' AND indexname <> 'profiles_pkey' LOOP
    EXECUTE format('DROP INDEX %I', i.indexname);
  END LOOP;
END $$;
ALTER TABLE profiles_0007 RENAME CONSTRAINT profiles_pkey TO profiles_0007_pkey;
CREATE SEQUENCE profiles_id_seq_0008;
SELECT setval('profiles_id_seq_0008', coalesce((SELECT max(id) FROM profiles_0007), 0) + 1, false);
ALTER TABLE profiles_0007 ALTER COLUMN id DROP IDENTITY;
ALTER SEQUENCE profiles_id_seq_0008 RENAME TO profiles_id_seq;

-- 2. The search halves.
CREATE FUNCTION kt_words(
  last_name text, first_name text, middle_name text, city text, point_of_sale text,
  utm_source text, utm_medium text, utm_campaign text, utm_content text, utm_term text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN kt_fold(concat_ws(' ', last_name, first_name, middle_name, city, point_of_sale, utm_source, utm_medium, utm_campaign, utm_content, utm_term));

-- Custom text values as PostgreSQL prints a jsonb array of them (["a", "b"], keys in jsonb order);
-- the filter compiler's JS twin (src/find/filter.ts searchText) builds the same string.
CREATE FUNCTION kt_search_ids(
  email text, card_number text, car_number text, phone text,
  k1 text, k2 text, k3 text, k4 text, k5 text, k6 text, referral_id text, fields jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN kt_fold(concat_ws(' ', email, card_number, car_number, k1, k2, k3, k4, k5, k6, referral_id,
    nullif(jsonb_path_query_array(fields, 'strict $.* ? (@.type() == "string")')::text, '[]'),
    ltrim(phone, '+')));

-- 3. The partitioned table: the same columns in the same order.
CREATE TABLE profiles (
  base_id        bigint NOT NULL,
  id             bigint NOT NULL DEFAULT nextval('profiles_id_seq'),
  kind           text NOT NULL CONSTRAINT profiles_kind_check CHECK (kind IN ('member', 'subscriber')),
  phone          text CONSTRAINT profiles_phone_check CHECK (phone ~ '^[+][1-9][0-9]+$' AND length(phone) BETWEEN 8 AND 16),
  card_number    text CONSTRAINT profiles_card_number_check CHECK (card_number ~ '^[0-9A-Z]+$' AND length(card_number) <= 200),
  email          text CONSTRAINT profiles_email_check CHECK (length(email) <= 320),
  last_name      text,
  first_name     text,
  middle_name    text,
  birth_date     date,
  gender         text CONSTRAINT profiles_gender_check CHECK (gender IN ('m', 'f')),
  city           text,
  car_number     text,
  extra_key_1    text,
  extra_key_2    text,
  extra_key_3    text,
  extra_key_4    text,
  extra_key_5    text,
  extra_key_6    text,
  reg_source     text CONSTRAINT profiles_reg_source_check CHECK (reg_source IN ('pos', 'form', 'interface', 'api', 'import')),
  point_of_sale  text,
  utm_source     text,
  utm_medium     text,
  utm_campaign   text,
  utm_content    text,
  utm_term       text,
  referral_id    text,
  fields         jsonb NOT NULL DEFAULT '{}' CONSTRAINT profiles_fields_check CHECK (jsonb_typeof(fields) = 'object'),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  tags           bigint[] NOT NULL DEFAULT '{}',
  birth_md       smallint GENERATED ALWAYS AS ((extract(month FROM birth_date) * 100 + extract(day FROM birth_date))::smallint) STORED,
  writer         xid8 NOT NULL DEFAULT pg_current_xact_id(),
  search         text GENERATED ALWAYS AS (kt_search_ids(email, card_number, car_number, phone,
                   extra_key_1, extra_key_2, extra_key_3, extra_key_4, extra_key_5, extra_key_6, referral_id, fields)) STORED,
  CONSTRAINT profiles_pkey PRIMARY KEY (base_id, id),
  -- Seed 002: a loyalty member needs a phone or a card; a subscriber is an email only.
  CONSTRAINT profiles_member_identity CHECK (kind <> 'member' OR phone IS NOT NULL OR card_number IS NOT NULL),
  CONSTRAINT profiles_subscriber_identity CHECK (kind <> 'subscriber' OR (email IS NOT NULL AND phone IS NULL AND card_number IS NULL))
) PARTITION BY LIST (base_id);
ALTER SEQUENCE profiles_id_seq OWNED BY profiles.id;

-- The statements that give a table shaped like profiles every index of profiles, each named after
-- the parent's index with a suffix (profiles_phone_key_b7): a unique violation in any base then names
-- the parent's index plus the suffix, which the error mapper strips. The bulk import runs them itself.
CREATE FUNCTION kt_profiles_index_defs(tbl text, suffix text) RETURNS SETOF text LANGUAGE sql STABLE AS $$
  SELECT format('ALTER TABLE %I ADD CONSTRAINT %I PRIMARY KEY (base_id, id)', tbl, 'profiles_pkey_' || suffix)
  UNION ALL
  SELECT regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX (\S+) ON ONLY \S+ ',
           'CREATE \1INDEX \2_' || suffix || ' ON ' || quote_ident(tbl) || ' ')
  FROM pg_index i
  WHERE i.indrelid = 'profiles'::regclass AND NOT i.indisprimary
$$;

-- A base's partition: a table shaped like profiles, indexed while empty, then attached (which takes
-- only a SHARE UPDATE EXCLUSIVE lock on profiles: reads and writes of other bases go on).
CREATE FUNCTION kt_profiles_partition(base bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  part text := 'profiles_b' || base;
  stmt text;
BEGIN
  EXECUTE format('CREATE TABLE %I (LIKE profiles INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING STORAGE)', part);
  FOR stmt IN SELECT kt_profiles_index_defs(part, 'b' || base) LOOP
    EXECUTE stmt;
  END LOOP;
  EXECUTE format('ALTER TABLE profiles ATTACH PARTITION %I FOR VALUES IN (%s)', part, base);
END $$;


-- 4. Indexes, on the parent: each base's partition gets them from kt_profiles_partition.
CREATE UNIQUE INDEX profiles_phone_key ON profiles (base_id, phone);
CREATE UNIQUE INDEX profiles_card_key ON profiles (base_id, card_number);
-- One subscriber per email: a second subscription with the same email is the same person.
CREATE UNIQUE INDEX profiles_subscriber_email_key ON profiles (base_id, email) WHERE kind = 'subscriber';
CREATE INDEX profiles_email_idx ON profiles (email);
-- quick search, the two halves
CREATE INDEX profiles_search_trgm ON profiles USING gin (search gin_trgm_ops);
CREATE INDEX profiles_words_trgm ON profiles USING gin (kt_words(last_name, first_name, middle_name, city, point_of_sale,
  utm_source, utm_medium, utm_campaign, utm_content, utm_term) gin_trgm_ops);
-- tags hasAny / hasAll; custom field equality (fields @> {"key": value})
CREATE INDEX profiles_tags_gin ON profiles USING gin (tags);
CREATE INDEX profiles_fields_gin ON profiles USING gin (fields jsonb_path_ops);
-- equality, prefix and range filters; sorting (with the id tiebreaker for keyset pages)
CREATE INDEX profiles_city_idx ON profiles (kt_fold(city) text_pattern_ops);
CREATE INDEX profiles_last_name_idx ON profiles (kt_fold(last_name) text_pattern_ops);
CREATE INDEX profiles_first_name_idx ON profiles (kt_fold(first_name) text_pattern_ops);
CREATE INDEX profiles_birth_date_idx ON profiles (birth_date);
CREATE INDEX profiles_birth_md_idx ON profiles (birth_md);
CREATE INDEX profiles_created_idx ON profiles (created_at, id);
CREATE INDEX profiles_updated_idx ON profiles (updated_at, id);
-- sparse identifiers and campaign fields: partial indexes stay small
CREATE INDEX profiles_car_idx ON profiles (car_number) WHERE car_number IS NOT NULL;
CREATE INDEX profiles_extra1_idx ON profiles (extra_key_1) WHERE extra_key_1 IS NOT NULL;
CREATE INDEX profiles_extra2_idx ON profiles (extra_key_2) WHERE extra_key_2 IS NOT NULL;
CREATE INDEX profiles_extra3_idx ON profiles (extra_key_3) WHERE extra_key_3 IS NOT NULL;
CREATE INDEX profiles_extra4_idx ON profiles (extra_key_4) WHERE extra_key_4 IS NOT NULL;
CREATE INDEX profiles_extra5_idx ON profiles (extra_key_5) WHERE extra_key_5 IS NOT NULL;
CREATE INDEX profiles_extra6_idx ON profiles (extra_key_6) WHERE extra_key_6 IS NOT NULL;
CREATE INDEX profiles_pos_idx ON profiles (kt_fold(point_of_sale)) WHERE point_of_sale IS NOT NULL;
CREATE INDEX profiles_utm_source_idx ON profiles (utm_source) WHERE utm_source IS NOT NULL;
CREATE INDEX profiles_utm_campaign_idx ON profiles (utm_campaign) WHERE utm_campaign IS NOT NULL;
CREATE INDEX profiles_referral_idx ON profiles (referral_id) WHERE referral_id IS NOT NULL;
-- the count index's change query (migration 0003)
CREATE INDEX profiles_writer_idx ON profiles (writer);

-- 5. A partition for each base, loaded before it is indexed (the fast way), then attached.
DO $$
DECLARE
  b bigint;
  stmt text;
BEGIN
  FOR b IN SELECT id FROM bases ORDER BY id LOOP
    EXECUTE format('CREATE TABLE %I (LIKE profiles INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING STORAGE)', 'profiles_b' || b);
    EXECUTE format($q$
      INSERT INTO %I (base_id, id, kind, phone, card_number, email, last_name, first_name, middle_name, birth_date, gender, city,
        car_number, extra_key_1, extra_key_2, extra_key_3, extra_key_4, extra_key_5, extra_key_6, reg_source, point_of_sale,
        utm_source, utm_medium, utm_campaign, utm_content, utm_term, referral_id, fields, created_at, updated_at, tags, writer)
      SELECT base_id, id, kind, phone, card_number, email, last_name, first_name, middle_name, birth_date, gender, city,
        car_number, extra_key_1, extra_key_2, extra_key_3, extra_key_4, extra_key_5, extra_key_6, reg_source, point_of_sale,
        utm_source, utm_medium, utm_campaign, utm_content, utm_term, referral_id, fields, created_at, updated_at, tags, writer
      FROM profiles_0007 WHERE base_id = %s$q$, 'profiles_b' || b, b);
    FOR stmt IN SELECT kt_profiles_index_defs('profiles_b' || b, 'b' || b) LOOP
      EXECUTE stmt;
    END LOOP;
    EXECUTE format('ALTER TABLE profiles ATTACH PARTITION %I FOR VALUES IN (%s)', 'profiles_b' || b, b);
  END LOOP;
END $$;
DROP TABLE profiles_0007;
DROP FUNCTION kt_search_ids(text, text, text, text, text, text, text, text, text, text, jsonb);
DROP FUNCTION kt_names(text, text, text);
ANALYZE profiles;

-- 6. What refers to profiles follows a profile's deletion by a trigger, not by foreign keys: a foreign
-- key to a partitioned table checks each inserted row with a cached plan that locks every partition
-- and index of profiles (measured: 13 µs an event row with one base, 147 µs with seven, growing with
-- each base). Writers insert rows for profiles they hold locked in the same transaction; a deleted
-- profile's events, merges and memberships go with it, set-based, whatever deleted it. The count
-- index's change tracking (migration 0003) is the same trigger.
CREATE FUNCTION kt_profiles_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO profile_tombstones (base_id, id) SELECT base_id, id FROM old_rows;
  DELETE FROM profile_events e USING old_rows o WHERE e.base_id = o.base_id AND e.profile_id = o.id;
  DELETE FROM profile_merges m USING old_rows o WHERE m.base_id = o.base_id AND m.into_id = o.id;
  DELETE FROM segment_members s USING old_rows o WHERE s.base_id = o.base_id AND s.profile_id = o.id;
  RETURN NULL;
END $$;
CREATE TRIGGER profiles_deleted AFTER DELETE ON profiles REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION kt_profiles_deleted();
DROP FUNCTION kt_tombstone();
CREATE TRIGGER profiles_touch_writer BEFORE UPDATE ON profiles FOR EACH ROW EXECUTE FUNCTION kt_touch_writer();

-- 7. A base brings its partition and takes it away, with the rows that refer to its profiles.
CREATE FUNCTION kt_base_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM kt_profiles_partition(NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER bases_profiles_partition AFTER INSERT ON bases FOR EACH ROW EXECUTE FUNCTION kt_base_created();

CREATE FUNCTION kt_base_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE part text := 'profiles_b' || OLD.id;
BEGIN
  DELETE FROM segment_members WHERE base_id = OLD.id;
  DELETE FROM profile_events WHERE base_id = OLD.id;
  DELETE FROM profile_merges WHERE base_id = OLD.id;
  DELETE FROM profile_tombstones WHERE base_id = OLD.id;
  IF to_regclass(part) IS NOT NULL THEN
    EXECUTE format('DROP TABLE %I', part);
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER bases_profiles_drop BEFORE DELETE ON bases FOR EACH ROW EXECUTE FUNCTION kt_base_deleted();
