-- Hyper-parameter search: the search state (libs/ml SearchState JSON) on the run, one row per trial.
-- Each trial is its own work item (TrainingRequested with trial_id), so replicas run trials in parallel;
-- the run row is locked (SELECT … FOR UPDATE) while a result is recorded into the state.

ALTER TABLE runs ADD COLUMN search_state jsonb;

CREATE TABLE trials (
  run_id uuid NOT NULL REFERENCES runs (id),
  -- The search's own id (e.g. c000, c001-r1), unique within the run.
  trial_id text NOT NULL,
  -- {optimizer, learningRate, epochs, momentum, batchSize}: what the trial trains with (epochs = budget).
  params jsonb NOT NULL,
  budget integer NOT NULL,
  seed bigint NOT NULL,
  rung integer NOT NULL DEFAULT 0,
  status text NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
  validation_macro_f1 double precision,
  validation_accuracy double precision,
  failure_reason text NOT NULL DEFAULT '',
  attempts integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  PRIMARY KEY (run_id, trial_id)
);
