"""Core types and values every layer shares: domain records, the exception tree, settings,
countries, tracking numbers (one normalizer, the S10 check digit) and redaction of secrets.
"""
