// Kysely table types: one interface per table, snake_case as in SQL.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<unknown, string, string>;

export interface SettingsTable {
  key: string;
  value: Json;
  updated_at: Timestamp;
}

export interface UsersTable {
  id: Generated<number>;
  login: string;
  name: Generated<string>;
  password_hash: string;
  role: Generated<string>;
  must_change_password: Generated<boolean>;
  created_at: Timestamp;
  disabled_at: Date | null;
}

export interface SessionsTable {
  token_hash: string;
  user_id: number;
  created_at: Timestamp;
  expires_at: Date;
}

export interface ApiTokensTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  token_hash: string;
  prefix: string;
  created_at: Timestamp;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface BasesTable {
  id: Generated<number>;
  name: string;
  description: Generated<string>;
  tags: Generated<string[]>;
  access_group: string | null;
  sub_manager_title: Generated<string>;
  sub_manager_lang: Generated<string>;
  sender_name: Generated<string>;
  sender_email: string | null;
  reply_to_email: string | null;
  observer: Generated<boolean>;
  phone_region: Generated<string>;
  emails_consented: boolean;
  card_prefix: Generated<string>;
  card_length: Generated<number>;
  card_seq: Generated<number>;
  /** The count index pruned tombstones written before this transaction (migration 0010). */
  tombstones_pruned: Generated<string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface FieldsTable {
  base_id: number;
  key: string;
  type: string;
  label_ru: string;
  label_en: Generated<string>;
  required: Generated<boolean>;
  default_value: Json | null;
  list_mode: string | null;
  options: ColumnType<string[], string | undefined, string>;
  in_sub_manager: Generated<boolean>;
  position: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ProfilesTable {
  base_id: number;
  id: Generated<number>;
  kind: string;
  phone: string | null;
  card_number: string | null;
  email: string | null;
  last_name: string | null;
  first_name: string | null;
  middle_name: string | null;
  birth_date: ColumnType<string | null, string | null, string | null>;
  gender: string | null;
  city: string | null;
  car_number: string | null;
  extra_key_1: string | null;
  extra_key_2: string | null;
  extra_key_3: string | null;
  extra_key_4: string | null;
  extra_key_5: string | null;
  extra_key_6: string | null;
  reg_source: string | null;
  point_of_sale: string | null;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  utm_content: string | null;
  utm_term: string | null;
  referral_id: string | null;
  fields: ColumnType<Record<string, unknown>, string | undefined, string>;
  tags: ColumnType<number[], number[] | undefined, number[]>;
  birth_md: ColumnType<number | null, never, never>;
  search: ColumnType<string, never, never>;
  writer: ColumnType<string, never, never>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TagsTable {
  base_id: number;
  id: Generated<number>;
  name: string;
  color: Generated<string>;
  created_at: Timestamp;
}

export interface SegmentsTable {
  base_id: number;
  id: Generated<number>;
  name: string;
  kind: string;
  query: Json | null;
  owner_id: number | null;
  shared: Generated<boolean>;
  count: number | null;
  counted_at: Date | null;
  count_ms: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SegmentMembersTable {
  base_id: number;
  segment_id: number;
  profile_id: number;
  added_at: Timestamp;
}

export interface TableSettingsTable {
  user_id: number;
  base_id: number;
  settings: Json;
  updated_at: Timestamp;
}

export interface JobsTable {
  id: Generated<number>;
  base_id: number | null;
  kind: string;
  status: Generated<string>;
  params: Json;
  progress: Json;
  result: Json | null;
  error: string | null;
  attempts: Generated<number>;
  actor: string;
  created_at: Timestamp;
  started_at: Date | null;
  heartbeat_at: Date | null;
  finished_at: Date | null;
}

export interface JobTargetsTable {
  base_id: number;
  job_id: number;
  profile_id: number;
}

export interface ProfileMergesTable {
  base_id: number;
  id: Generated<number>;
  into_id: number;
  from_id: number;
  reason: string;
  snapshot: Json;
  merged_at: Timestamp;
}

export interface ProfileEventsTable {
  base_id: number;
  id: Generated<number>;
  profile_id: number;
  at: Timestamp;
  actor: string;
  action: string;
  changes: Json;
  source: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export interface ImportsTable {
  id: Generated<number>;
  base_id: number;
  job_id: number | null;
  actor: string;
  file_name: string;
  file_path: string;
  file_size: number;
  file_sha256: string;
  format: string;
  source: Json;
  headers: Generated<string[]>;
  mapping: Json | null;
  settings: Json | null;
  dry_run: Generated<boolean>;
  rows: Generated<number>;
  created: Generated<number>;
  updated: Generated<number>;
  unchanged: Generated<number>;
  failed: Generated<number>;
  uploaded_at: Timestamp;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface ImportErrorsTable {
  base_id: number;
  import_id: number;
  line: number;
  cells: string[];
  errors: Json;
}

export interface ImportTemplatesTable {
  base_id: number;
  id: Generated<number>;
  name: string;
  headers: string[];
  mapping: Json;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ExportsTable {
  id: Generated<number>;
  base_id: number;
  job_id: number | null;
  actor: string;
  query: Json;
  columns: string[];
  format: string;
  dialect: string | null;
  status: Generated<string>;
  rows: number | null;
  file_name: string;
  file_path: string | null;
  file_size: number | null;
  file_sha256: string | null;
  download_token_hash: string | null;
  expires_at: Date | null;
  created_at: Timestamp;
  finished_at: Date | null;
}

export interface DB {
  settings: SettingsTable;
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  bases: BasesTable;
  fields: FieldsTable;
  profiles: ProfilesTable;
  profile_merges: ProfileMergesTable;
  profile_events: ProfileEventsTable;
  tags: TagsTable;
  segments: SegmentsTable;
  segment_members: SegmentMembersTable;
  table_settings: TableSettingsTable;
  jobs: JobsTable;
  job_targets: JobTargetsTable;
  imports: ImportsTable;
  import_errors: ImportErrorsTable;
  import_templates: ImportTemplatesTable;
  exports: ExportsTable;
}

export type BaseRow = Selectable<BasesTable>;
export type FieldRow = Selectable<FieldsTable>;
export type ProfileRow = Selectable<ProfilesTable>;
export type NewProfileRow = Insertable<ProfilesTable>;
export type ProfileUpdate = Updateable<ProfilesTable>;
export type UserRow = Selectable<UsersTable>;
