-- The dataset service's tables. runMigrations sets search_path to the service schema
-- (`dataset`), so unqualified names land there. Plain SQL valid on PostgreSQL 15 and PGlite.

-- Enum order is the export order: train, validation, test.
CREATE TYPE item_split AS ENUM ('train', 'validation', 'test');

CREATE TABLE datasets (
  id uuid PRIMARY KEY,
  -- Keyset pagination order for ListDatasets.
  seq bigserial NOT NULL UNIQUE,
  name text NOT NULL UNIQUE,
  -- Ordered: a class's index is its model output index; only ever appended to.
  classes text[] NOT NULL,
  image_width integer NOT NULL,
  image_height integer NOT NULL,
  image_channels integer NOT NULL,
  ratio_train double precision NOT NULL,
  ratio_validation double precision NOT NULL,
  ratio_test double precision NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE items (
  id uuid PRIMARY KEY,
  -- Keyset pagination order for ListItems.
  seq bigserial NOT NULL UNIQUE,
  dataset_id uuid NOT NULL REFERENCES datasets (id),
  -- The image is stored at datasets/<dataset_id>/items/<sha256>.
  sha256 text NOT NULL,
  file_name text NOT NULL,
  width integer NOT NULL,
  height integer NOT NULL,
  format text NOT NULL,
  size_bytes bigint NOT NULL,
  split item_split,
  -- The current label; its history is in item_labels.
  label text,
  label_source text CHECK (label_source IN ('human', 'model', 'import')),
  label_actor text,
  label_confidence double precision,
  label_model_version text,
  labeled_at timestamptz,
  label_version bigint NOT NULL DEFAULT 0,
  -- The import that created the item (an import resumed after a crash counts it as its own).
  import_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (dataset_id, sha256),
  CHECK ((label IS NULL) = (label_source IS NULL)),
  CHECK (label IS NULL OR split IS NOT NULL)
);
CREATE INDEX items_dataset_seq_idx ON items (dataset_id, seq);
CREATE INDEX items_dataset_label_seq_idx ON items (dataset_id, label, seq);
-- Export order (split, label, file_name, id), read in keyset pages.
CREATE INDEX items_export_idx ON items (dataset_id, split, label, file_name, id) WHERE label IS NOT NULL;

CREATE TABLE item_labels (
  id uuid PRIMARY KEY,
  item_id uuid NOT NULL REFERENCES items (id),
  value text NOT NULL,
  source text NOT NULL CHECK (source IN ('human', 'model', 'import')),
  actor text NOT NULL,
  confidence double precision,
  model_version text NOT NULL DEFAULT '',
  -- The item's label_version after this change.
  version bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (item_id, version)
);

-- Trusted (human and import) labelled items per class and split. A label change locks the rows
-- of the classes it touches (SELECT ... FOR UPDATE), which serialises stratification per class.
CREATE TABLE class_split_counts (
  dataset_id uuid NOT NULL REFERENCES datasets (id),
  class text NOT NULL,
  train integer NOT NULL DEFAULT 0 CHECK (train >= 0),
  validation integer NOT NULL DEFAULT 0 CHECK (validation >= 0),
  test integer NOT NULL DEFAULT 0 CHECK (test >= 0),
  PRIMARY KEY (dataset_id, class)
);

CREATE TABLE imports (
  id uuid PRIMARY KEY,
  dataset_id uuid NOT NULL REFERENCES datasets (id),
  file_name text NOT NULL,
  status text NOT NULL CHECK (status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED')),
  add_missing_classes boolean NOT NULL,
  actor text NOT NULL DEFAULT '',
  -- The uploaded archive, kept until the import finishes so a restart can resume it.
  archive_key text NOT NULL,
  total integer NOT NULL DEFAULT 0,
  processed integer NOT NULL DEFAULT 0,
  created integer NOT NULL DEFAULT 0,
  duplicates integer NOT NULL DEFAULT 0,
  rejected integer NOT NULL DEFAULT 0,
  -- The first rejected files: [{fileName, code, reason}], capped.
  errors jsonb NOT NULL DEFAULT '[]',
  failure_reason text NOT NULL DEFAULT '',
  added_classes text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX imports_unfinished_idx ON imports (created_at) WHERE status IN ('PENDING', 'RUNNING');

-- Transactional outbox (libs/events outboxTableSql('dataset')): events are written with the
-- change that causes them and published by the OutboxRelay after commit.
CREATE TABLE outbox (
  id uuid PRIMARY KEY,
  subject text NOT NULL,
  payload bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  attempts int NOT NULL DEFAULT 0,
  last_error text
);
CREATE INDEX outbox_unpublished_idx ON outbox (created_at) WHERE published_at IS NULL;
