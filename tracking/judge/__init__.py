"""Judging: milestones, verdict rules by finding family, marketplace policies, cross-order
checks, findings history and re-judging. Pure functions over stored facts.
"""
