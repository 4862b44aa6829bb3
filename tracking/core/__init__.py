"""Core types and values every layer shares: domain records, the exception tree, settings
(environment, `.env`, the TOML file's `[carriers.<code>]` tables), countries (ISO codes, English
and Chinese names), tracking numbers (one normalizer, the S10 check digit) and redaction of
secrets. Imports no other package of the project; a change here reaches every layer.
"""
