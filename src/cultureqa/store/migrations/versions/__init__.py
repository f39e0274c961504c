"""The question log's schema revisions, oldest first: r0001_question_log.py, r0002_...

To change the schema, add a revision; never edit one that has shipped:
- copy the newest file to rNNNN_what_it_does.py, with revision = "NNNN" and down_revision the
  newest one's revision (one line of revisions: tests/store/test_migrations.py checks it);
- spell the operations out with `op` and `sa`: never import cultureqa.store.schema, which
  describes the newest schema, not the one this revision started from;
- fill new columns and tables from the rows already there, as r0002 does, in SQL both SQLite
  and PostgreSQL run (or branch on op.get_bind().dialect.name);
- altering a table on SQLite needs `with op.batch_alter_table(...)`: it rebuilds the table,
  which is safe because migrations run with foreign keys off (migrate.migration_transaction);
- update schema.py to match: a test compares the migrated database with it (Alembic's
  compare_metadata), on both databases, and another upgrades a database with rows from the
  previous revision (add the new revision's case there).
Every revision of an upgrade runs in one transaction: all of it commits, or none.
"""
