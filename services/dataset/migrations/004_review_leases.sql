-- The review hot path (bench/load): "what does this reviewer already hold" must not scan the
-- dataset's whole queue. Only leased tasks are in this index, a few hundred at most.
CREATE INDEX review_tasks_leased_idx ON review_tasks (dataset_id, leased_by, priority, id) WHERE leased_by IS NOT NULL;
