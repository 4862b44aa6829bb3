"""Storage, the only package that speaks SQL: tables and typed table handles, the engine, one
write path for SQLite and PostgreSQL, tenant isolation, migrations, and the persistence
functions the rest of the code calls. A new query or table belongs here (and a migration).
"""
