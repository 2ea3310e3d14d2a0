-- Find: quick search text, birthday key, tags, segments, per-user table settings, jobs.
-- Every index below serves a filter operator on purpose (docs/performance.md lists which).

CREATE EXTENSION IF NOT EXISTS btree_gin;

-- The one folding rule for text comparisons: lower case, ё = е.
CREATE FUNCTION kt_fold(t text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  RETURN lower(translate(t, 'Ёё', 'Ее'));

-- Everything quick search looks at, folded, in one string: name parts, email, card, car number,
-- extra keys, custom string values, and the phone as bare digits (so '9161' finds +7 916 1…).
CREATE FUNCTION kt_search_text(
  last_name text, first_name text, middle_name text, email text, card_number text, car_number text, phone text,
  k1 text, k2 text, k3 text, k4 text, k5 text, k6 text, fields jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN kt_fold(concat_ws(' ', last_name, first_name, middle_name, email, card_number, car_number, k1, k2, k3, k4, k5, k6,
    (SELECT string_agg(v #>> '{}', ' ') FROM jsonb_each(fields) AS e(k, v) WHERE jsonb_typeof(v) = 'string'),
    regexp_replace(phone, '[^0-9]', '', 'g')));

ALTER TABLE profiles
  ADD COLUMN tags bigint[] NOT NULL DEFAULT '{}',
  ADD COLUMN birth_md smallint GENERATED ALWAYS AS ((extract(month FROM birth_date) * 100 + extract(day FROM birth_date))::smallint) STORED,
  ADD COLUMN search text GENERATED ALWAYS AS (kt_search_text(last_name, first_name, middle_name, email, card_number, car_number, phone,
    extra_key_1, extra_key_2, extra_key_3, extra_key_4, extra_key_5, extra_key_6, fields)) STORED;

-- quick search (contains, several values, phone fragments)
CREATE INDEX profiles_search_trgm ON profiles USING gin (base_id, search gin_trgm_ops);
-- tags hasAny / hasAll; custom field equality (fields @> {"key": value})
CREATE INDEX profiles_tags_gin ON profiles USING gin (base_id, tags);
CREATE INDEX profiles_fields_gin ON profiles USING gin (base_id, fields jsonb_path_ops);
-- equality, prefix and range filters; sorting by these columns
CREATE INDEX profiles_city_idx ON profiles (base_id, kt_fold(city) text_pattern_ops);
CREATE INDEX profiles_last_name_idx ON profiles (base_id, kt_fold(last_name) text_pattern_ops);
CREATE INDEX profiles_first_name_idx ON profiles (base_id, kt_fold(first_name) text_pattern_ops);
CREATE INDEX profiles_birth_date_idx ON profiles (base_id, birth_date);
CREATE INDEX profiles_birth_md_idx ON profiles (base_id, birth_md);
CREATE INDEX profiles_created_idx ON profiles (base_id, created_at);
CREATE INDEX profiles_updated_idx ON profiles (base_id, updated_at);
-- sparse identifiers and campaign fields: partial indexes stay small
CREATE INDEX profiles_car_idx ON profiles (base_id, car_number) WHERE car_number IS NOT NULL;
CREATE INDEX profiles_extra1_idx ON profiles (base_id, extra_key_1) WHERE extra_key_1 IS NOT NULL;
CREATE INDEX profiles_extra2_idx ON profiles (base_id, extra_key_2) WHERE extra_key_2 IS NOT NULL;
CREATE INDEX profiles_extra3_idx ON profiles (base_id, extra_key_3) WHERE extra_key_3 IS NOT NULL;
CREATE INDEX profiles_extra4_idx ON profiles (base_id, extra_key_4) WHERE extra_key_4 IS NOT NULL;
CREATE INDEX profiles_extra5_idx ON profiles (base_id, extra_key_5) WHERE extra_key_5 IS NOT NULL;
CREATE INDEX profiles_extra6_idx ON profiles (base_id, extra_key_6) WHERE extra_key_6 IS NOT NULL;
CREATE INDEX profiles_pos_idx ON profiles (base_id, kt_fold(point_of_sale)) WHERE point_of_sale IS NOT NULL;
CREATE INDEX profiles_utm_source_idx ON profiles (base_id, utm_source) WHERE utm_source IS NOT NULL;
CREATE INDEX profiles_utm_campaign_idx ON profiles (base_id, utm_campaign) WHERE utm_campaign IS NOT NULL;
CREATE INDEX profiles_referral_idx ON profiles (base_id, referral_id) WHERE referral_id IS NOT NULL;

-- Tags with colours, per base.
CREATE TABLE tags (
  base_id    bigint NOT NULL REFERENCES bases (id) ON DELETE CASCADE,
  id         bigint GENERATED ALWAYS AS IDENTITY,
  name       text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  color      text NOT NULL DEFAULT '#868e96' CHECK (color ~ '^#[0-9a-f]{6}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (base_id, id)
);
CREATE UNIQUE INDEX tags_name_key ON tags (base_id, lower(btrim(name)));

-- Saved filters (dynamic segments) and manual segments (static membership).
CREATE TABLE segments (
  base_id     bigint NOT NULL REFERENCES bases (id) ON DELETE CASCADE,
  id          bigint GENERATED ALWAYS AS IDENTITY,
  name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  kind        text NOT NULL CHECK (kind IN ('dynamic', 'manual')),
  query       jsonb,            -- dynamic: { q?, list?, filter? }
  owner_id    bigint REFERENCES users (id) ON DELETE SET NULL,
  shared      boolean NOT NULL DEFAULT true,
  count       bigint,
  counted_at  timestamptz,
  count_ms    integer,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (base_id, id),
  CHECK ((kind = 'dynamic') = (query IS NOT NULL))
);
CREATE UNIQUE INDEX segments_name_key ON segments (base_id, lower(btrim(name)));

CREATE TABLE segment_members (
  base_id     bigint NOT NULL,
  segment_id  bigint NOT NULL,
  profile_id  bigint NOT NULL,
  added_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (base_id, segment_id, profile_id),
  FOREIGN KEY (base_id, segment_id) REFERENCES segments (base_id, id) ON DELETE CASCADE,
  FOREIGN KEY (base_id, profile_id) REFERENCES profiles (base_id, id) ON DELETE CASCADE
);
CREATE INDEX segment_members_profile_idx ON segment_members (base_id, profile_id);

-- The clients table as each user set it up: visible columns, order, pinned columns, sort.
CREATE TABLE table_settings (
  user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  base_id    bigint NOT NULL REFERENCES bases (id) ON DELETE CASCADE,
  settings   jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, base_id)
);

-- Durable background work (mass actions now; imports, exports, mailings later).
CREATE TABLE jobs (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  base_id      bigint REFERENCES bases (id) ON DELETE CASCADE,
  kind         text NOT NULL,
  status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  params       jsonb NOT NULL DEFAULT '{}',
  progress     jsonb NOT NULL DEFAULT '{}',
  result       jsonb,
  error        text,
  attempts     integer NOT NULL DEFAULT 0,
  actor        text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  heartbeat_at timestamptz,
  finished_at  timestamptz
);
CREATE INDEX jobs_queue_idx ON jobs (created_at) WHERE status IN ('queued', 'running');

-- The profiles a mass action applies to, fixed when the job is created (what the user saw).
CREATE TABLE job_targets (
  base_id    bigint NOT NULL,
  job_id     bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  profile_id bigint NOT NULL,
  PRIMARY KEY (base_id, job_id, profile_id)
);
