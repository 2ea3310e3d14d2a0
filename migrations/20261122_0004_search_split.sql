-- Quick search in two parts: the name parts (few distinct values, which the in-memory count index
-- holds) and the identifiers (email, card, car, phone digits, extra keys, custom text: nearly unique,
-- left to this trigram index). A word matches a profile when it occurs in either.

CREATE FUNCTION kt_names(last_name text, first_name text, middle_name text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN kt_fold(concat_ws(' ', last_name, first_name, middle_name));

CREATE FUNCTION kt_search_ids(
  email text, card_number text, car_number text, phone text,
  k1 text, k2 text, k3 text, k4 text, k5 text, k6 text, fields jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN kt_fold(concat_ws(' ', email, card_number, car_number, k1, k2, k3, k4, k5, k6,
    (SELECT string_agg(v #>> '{}', ' ') FROM jsonb_each(fields) AS e(k, v) WHERE jsonb_typeof(v) = 'string'),
    regexp_replace(phone, '[^0-9]', '', 'g')));

ALTER TABLE profiles DROP COLUMN search;
ALTER TABLE profiles ADD COLUMN search text GENERATED ALWAYS AS (kt_search_ids(email, card_number, car_number, phone,
  extra_key_1, extra_key_2, extra_key_3, extra_key_4, extra_key_5, extra_key_6, fields)) STORED;
CREATE INDEX profiles_search_trgm ON profiles USING gin (search gin_trgm_ops);
CREATE INDEX profiles_names_trgm ON profiles USING gin (kt_names(last_name, first_name, middle_name) gin_trgm_ops);
DROP FUNCTION kt_search_text(text, text, text, text, text, text, text, text, text, text, text, text, text, jsonb);
