"""Storage, the only package that speaks SQL: tables, the engine, migrations and the
persistence functions the rest of the code calls.
"""
