-- Import and export (issue 4): the record of every import (who, file, hash, mapping, counts),
-- its failed rows (for the error file), saved mapping templates, and the export log.
-- Uploaded and exported files live in the data folder (files/); these rows describe them.

CREATE TABLE imports (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  base_id      bigint NOT NULL REFERENCES bases (id) ON DELETE CASCADE,
  job_id       bigint REFERENCES jobs (id) ON DELETE SET NULL,
  actor        text NOT NULL,
  file_name    text NOT NULL,
  file_path    text NOT NULL,
  file_size    bigint NOT NULL,
  file_sha256  text NOT NULL,
  format       text NOT NULL CHECK (format IN ('csv', 'xlsx')),
  -- csv: { encoding, delimiter }; xlsx: { sheet }; headers of the chosen sheet
  source       jsonb NOT NULL DEFAULT '{}',
  headers      text[] NOT NULL DEFAULT '{}',
  mapping      jsonb,
  -- mode, per-field policy, duplicates, tags, segment, dry run
  settings     jsonb,
  dry_run      boolean NOT NULL DEFAULT false,
  rows         bigint NOT NULL DEFAULT 0,
  created      bigint NOT NULL DEFAULT 0,
  updated      bigint NOT NULL DEFAULT 0,
  unchanged    bigint NOT NULL DEFAULT 0,
  failed       bigint NOT NULL DEFAULT 0,
  uploaded_at  timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz
);
CREATE INDEX imports_base_idx ON imports (base_id, id DESC);

-- One row per failed file row, written in the same transaction as the batch it failed in.
CREATE TABLE import_errors (
  base_id    bigint NOT NULL,
  import_id  bigint NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  line       bigint NOT NULL,
  cells      text[] NOT NULL,
  errors     jsonb NOT NULL,
  PRIMARY KEY (base_id, import_id, line)
);

CREATE TABLE import_templates (
  base_id    bigint NOT NULL REFERENCES bases (id) ON DELETE CASCADE,
  id         bigint GENERATED ALWAYS AS IDENTITY,
  name       text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  headers    text[] NOT NULL,
  mapping    jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (base_id, id)
);
CREATE UNIQUE INDEX import_templates_name_key ON import_templates (base_id, lower(btrim(name)));

-- The export log (seed 004): who exported what, when, how many rows, and the file's hash.
CREATE TABLE exports (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  base_id         bigint NOT NULL REFERENCES bases (id) ON DELETE CASCADE,
  job_id          bigint REFERENCES jobs (id) ON DELETE SET NULL,
  actor           text NOT NULL,
  query           jsonb NOT NULL,
  columns         text[] NOT NULL,
  format          text NOT NULL CHECK (format IN ('csv', 'xlsx')),
  dialect         text CHECK (dialect IN ('excel-ru', 'plain')),
  status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  rows            bigint,
  file_name       text NOT NULL,
  file_path       text,
  file_size       bigint,
  file_sha256     text,
  download_token_hash text,
  expires_at      timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz
);
CREATE INDEX exports_base_idx ON exports (base_id, id DESC);
