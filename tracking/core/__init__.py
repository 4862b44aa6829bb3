"""Core types and values every layer shares: domain records, the exception tree, settings
(environment, `.env`, the TOML file's `[carriers.<code>]` tables), countries (ISO codes, English
and Chinese names, China's time), tracking numbers (one normalizer, the S10 check digit) and
redaction of secrets, and `fields.from_fields`, the one way a record is built from another by
field name (a result row as a store dataclass, one view from another); `datafiles.read_rows`
reads the tables kept as data (the findings catalogue, the carriers' status codes), every row
checked. Imports no other package of the project; a change here reaches every layer.
"""
