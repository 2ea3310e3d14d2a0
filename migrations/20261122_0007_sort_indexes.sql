-- The clients table opens sorted by creation time, newest first. Rows created together (one import
-- batch, one COPY) share created_at, so the index must carry the id tiebreaker too: with it the first
-- page is an index walk; without it PostgreSQL sorted the whole base (0.57 s at 1M profiles).
DROP INDEX profiles_created_idx;
CREATE INDEX profiles_created_idx ON profiles (base_id, created_at, id);
DROP INDEX profiles_updated_idx;
CREATE INDEX profiles_updated_idx ON profiles (base_id, updated_at, id);
