-- Active learning: per-dataset settings, scoring jobs split into shards that inference replicas
-- lease, predictions per item and model version, the review queue with leases, and audit results.
-- The design is in docs/architecture.md ("Active learning").

ALTER TABLE datasets
  ADD COLUMN al_target_error double precision NOT NULL DEFAULT 0.02
    CHECK (al_target_error > 0 AND al_target_error < 1),
  ADD COLUMN al_confidence double precision NOT NULL DEFAULT 0.95
    CHECK (al_confidence > 0 AND al_confidence < 1),
  ADD COLUMN al_strategy text NOT NULL DEFAULT 'margin'
    CHECK (al_strategy IN ('random', 'least_confidence', 'margin', 'entropy', 'bald')),
  ADD COLUMN al_diversity text NOT NULL DEFAULT 'none' CHECK (al_diversity IN ('none', 'k_center')),
  ADD COLUMN al_mc_samples integer NOT NULL DEFAULT 20 CHECK (al_mc_samples BETWEEN 2 AND 100),
  ADD COLUMN al_audit_share double precision NOT NULL DEFAULT 0.02
    CHECK (al_audit_share >= 0 AND al_audit_share <= 1),
  ADD COLUMN al_audit_minimum integer NOT NULL DEFAULT 10 CHECK (al_audit_minimum >= 0),
  ADD COLUMN al_lease_seconds integer NOT NULL DEFAULT 300 CHECK (al_lease_seconds BETWEEN 5 AND 86400),
  ADD COLUMN al_auto_label boolean NOT NULL DEFAULT true,
  -- Multiplies ε when thresholds are chosen; halved each time an audit fails, so the threshold
  -- tightens for that dataset from then on.
  ADD COLUMN al_error_scale double precision NOT NULL DEFAULT 1 CHECK (al_error_scale > 0 AND al_error_scale <= 1);

-- A reviewer said "not in classes": the item leaves the pool and is never labelled or trained on.
ALTER TABLE items ADD COLUMN excluded_at timestamptz;

CREATE TABLE scoring_jobs (
  id uuid PRIMARY KEY,
  dataset_id uuid NOT NULL REFERENCES datasets (id),
  model_id text NOT NULL,
  model_version integer NOT NULL,
  artifact_prefix text NOT NULL,
  status text NOT NULL CHECK (status IN ('RUNNING', 'FINALIZING', 'SUCCEEDED', 'SUPERSEDED', 'FAILED')),
  shards_total integer NOT NULL,
  shards_done integer NOT NULL DEFAULT 0,
  items_total bigint NOT NULL,
  items_scored bigint NOT NULL DEFAULT 0,
  failure_reason text NOT NULL DEFAULT '',
  -- The AutoLabelDecision (thresholds, bounds, counts, reason) once finalized.
  decision jsonb,
  -- The ε actually used (target × the dataset's error scale at finalization).
  effective_target_error double precision,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  UNIQUE (dataset_id, model_version)
);
CREATE INDEX scoring_jobs_running_idx ON scoring_jobs (created_at) WHERE status IN ('RUNNING', 'FINALIZING');

-- Items are frozen into shards when the job begins; their kind (pool, calibration, labelled) is
-- read from the item's state when the shard is claimed and again when the job is finalized.
CREATE TABLE scoring_shards (
  id uuid PRIMARY KEY,
  job_id uuid NOT NULL REFERENCES scoring_jobs (id),
  ordinal integer NOT NULL,
  item_ids uuid[] NOT NULL,
  lease_owner text,
  lease_expires_at timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  done_at timestamptz,
  UNIQUE (job_id, ordinal)
);
CREATE INDEX scoring_shards_open_idx ON scoring_shards (job_id, ordinal) WHERE done_at IS NULL;

-- One row per item and model version: recording the same shard twice overwrites with the same
-- values, so rescoring is idempotent.
CREATE TABLE predictions (
  item_id uuid NOT NULL REFERENCES items (id),
  model_version integer NOT NULL,
  dataset_id uuid NOT NULL REFERENCES datasets (id),
  job_id uuid NOT NULL REFERENCES scoring_jobs (id),
  predicted text NOT NULL,
  -- Calibrated probability of `predicted`.
  confidence double precision NOT NULL,
  -- One per dataset class, in class order.
  probabilities real[] NOT NULL,
  acquisition_score double precision NOT NULL,
  embedding real[],
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (item_id, model_version)
);
CREATE INDEX predictions_job_idx ON predictions (job_id);

-- The review queue: at most one open task per item. Answered tasks are deleted (the answer lives
-- on in item_labels and audit_results).
CREATE TABLE review_tasks (
  id uuid PRIMARY KEY,
  dataset_id uuid NOT NULL REFERENCES datasets (id),
  item_id uuid NOT NULL REFERENCES items (id),
  reason text NOT NULL CHECK (reason IN ('uncertain', 'audit', 'suspected_label_error')),
  -- Lower is served first.
  priority double precision NOT NULL,
  model_version integer NOT NULL,
  -- audit: the model label being audited; suspected_label_error: the label under suspicion.
  subject_label text,
  leased_by text,
  lease_expires_at timestamptz,
  skips integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (item_id)
);
CREATE INDEX review_tasks_next_idx ON review_tasks (dataset_id, priority, id);

-- A blind audit answered: the model's label against the reviewer's.
CREATE TABLE audit_results (
  item_id uuid NOT NULL REFERENCES items (id),
  model_version integer NOT NULL,
  dataset_id uuid NOT NULL REFERENCES datasets (id),
  model_label text NOT NULL,
  human_label text NOT NULL,
  correct boolean NOT NULL,
  actor text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (item_id, model_version)
);
CREATE INDEX audit_results_version_idx ON audit_results (dataset_id, model_version);

-- A model version whose audits failed: its remaining auto-labels went back to review and the
-- dataset's error scale was halved. One row per version makes that reaction happen once.
CREATE TABLE audit_failures (
  dataset_id uuid NOT NULL REFERENCES datasets (id),
  model_version integer NOT NULL,
  audited integer NOT NULL,
  errors integer NOT NULL,
  error_upper_bound double precision NOT NULL,
  revoked_labels integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dataset_id, model_version)
);
