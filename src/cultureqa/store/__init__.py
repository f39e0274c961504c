"""The question log: asks, conversations and feedback in a SQL database (SQLite by default,
PostgreSQL for anything shared), written off the request path.

    database.py   engines for a URL: SQLite tuned for one writer and many readers, psycopg 3
    schema.py     the tables as the newest migration leaves them (SQLAlchemy Core)
    migrate.py    Alembic, run from code: upgrade to head, the current revision
    privacy.py    what each question-log mode keeps, and the salted client hash
    writer.py     QuestionLog: a bounded queue and one writer thread; counters for /metrics
    maintenance.py  retention purge, erase-by-conversation, the feedback JSONL import, history
    migrations/   Alembic's env.py and the revisions, shipped in the package
"""
