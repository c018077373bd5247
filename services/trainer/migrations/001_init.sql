-- The trainer service's tables. runMigrations sets search_path to `training`, so unqualified
-- names land there. Plain SQL valid on PostgreSQL 15 and PGlite.

CREATE TABLE runs (
  id uuid PRIMARY KEY,
  -- Keyset pagination order for ListTrainingRuns (newest first).
  seq bigserial NOT NULL UNIQUE,
  dataset_id uuid NOT NULL,
  status text NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
  trigger text NOT NULL CHECK (trigger IN ('API', 'POLICY', 'SCHEDULE')),
  requested_by text NOT NULL,
  -- {optimizer, learningRate, epochs, momentum, batchSize}
  hyper_parameters jsonb NOT NULL,
  -- {strategy, trials, maxEpochs, seed}
  search jsonb NOT NULL,
  seed bigint NOT NULL,
  -- The latest Progress as JSON (written at most about once a second).
  progress jsonb NOT NULL DEFAULT '{}',
  failure_reason text NOT NULL DEFAULT '',
  model_id uuid,
  attempts integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
CREATE INDEX runs_dataset_idx ON runs (dataset_id, seq);
-- At most one queued or running run per dataset is what the retrain policy checks.
CREATE INDEX runs_active_idx ON runs (dataset_id) WHERE status IN ('QUEUED', 'RUNNING');

CREATE TABLE models (
  id uuid PRIMARY KEY,
  dataset_id uuid NOT NULL,
  version integer NOT NULL,
  run_id uuid NOT NULL REFERENCES runs (id),
  status text NOT NULL CHECK (status IN ('CANDIDATE', 'CHAMPION', 'RETIRED')),
  architecture text NOT NULL,
  classes text[] NOT NULL,
  hyper_parameters jsonb NOT NULL,
  temperature double precision NOT NULL,
  -- {test: SplitMetricsJson, validation: SplitMetricsJson}
  metrics jsonb NOT NULL,
  snapshot_key text NOT NULL,
  -- The snapshot's label watermark: labels after it are new for the next retrain.
  snapshot_created_at timestamptz NOT NULL,
  artifact_prefix text NOT NULL,
  new_items integer NOT NULL,
  replayed_items integer NOT NULL,
  promotion_decision text NOT NULL DEFAULT '',
  backend text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  promoted_at timestamptz,
  -- The champion this model replaced when it was promoted (rollback goes back to it).
  previous_champion_id uuid,
  UNIQUE (dataset_id, version)
);
CREATE UNIQUE INDEX models_one_champion_idx ON models (dataset_id) WHERE status = 'CHAMPION';

CREATE TABLE retrain_policies (
  dataset_id uuid PRIMARY KEY,
  every_human_labels integer NOT NULL CHECK (every_human_labels >= 0),
  replay_ratio double precision NOT NULL CHECK (replay_ratio >= 0 AND replay_ratio <= 1),
  promotion_tolerance double precision NOT NULL CHECK (promotion_tolerance >= 0 AND promotion_tolerance <= 1),
  max_recall_drop double precision NOT NULL CHECK (max_recall_drop >= 0 AND max_recall_drop <= 1)
);

-- New human labels per dataset since the last policy-triggered run.
CREATE TABLE human_label_counters (
  dataset_id uuid PRIMARY KEY,
  count integer NOT NULL DEFAULT 0
);

CREATE TABLE outbox (id uuid PRIMARY KEY, subject text NOT NULL, payload bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz, attempts int NOT NULL DEFAULT 0, last_error text);
CREATE INDEX outbox_unpublished_idx ON outbox (created_at) WHERE published_at IS NULL;

CREATE TABLE processed_events (consumer text NOT NULL, event_id uuid NOT NULL, processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event_id));

-- Work items (training.requested) get an outbox of their own in a second schema: the OutboxRelay
-- publishes `<schema>.outbox` under one subject prefix to one stream, and work goes to the
-- work-queue stream under `<prefix>-work`, so a second relay instance serves this table.
CREATE SCHEMA IF NOT EXISTS training_work;
CREATE TABLE training_work.outbox (id uuid PRIMARY KEY, subject text NOT NULL, payload bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz, attempts int NOT NULL DEFAULT 0, last_error text);
CREATE INDEX work_outbox_unpublished_idx ON training_work.outbox (created_at) WHERE published_at IS NULL;
