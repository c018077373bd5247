-- Human-labelled items (any split) the model's snapshot read: the labelling effort behind a version,
-- reported with its accuracy (learning curve: accuracy against human labels).
ALTER TABLE models ADD COLUMN human_labels integer NOT NULL DEFAULT 0;
