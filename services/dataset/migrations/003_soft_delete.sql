-- Soft delete: a deleted dataset is hidden from every call (NOT_FOUND) but keeps its items, labels,
-- history and objects until the purge job removes them DATASET_RETENTION after deleted_at.
-- purge_started_at is set before the purge removes anything: from then on it cannot be restored.
ALTER TABLE datasets
  ADD COLUMN deleted_at timestamptz,
  ADD COLUMN deleted_by text,
  ADD COLUMN purge_started_at timestamptz;

-- Names are unique among live datasets only: a deleted dataset's name can be used again (restoring
-- it then fails with ALREADY_EXISTS until one of the two is renamed or deleted).
ALTER TABLE datasets DROP CONSTRAINT datasets_name_key;
CREATE UNIQUE INDEX datasets_live_name_idx ON datasets (name) WHERE deleted_at IS NULL;
CREATE INDEX datasets_deleted_idx ON datasets (deleted_at) WHERE deleted_at IS NOT NULL;
