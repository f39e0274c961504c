"""The builder of a deployment with many replicas: `cultureqa worker` runs the re-index jobs
that any replica queued in the database, and publishes the versions every replica reads."""
