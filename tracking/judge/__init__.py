"""Judging: milestones, verdict rules by finding family, marketplace policies, cross-order
checks, findings history and re-judging. Pure functions over stored facts.

Add a finding here: its code, severity and English/Chinese title in the findings catalogue
(`CATALOGUE`), the rule beside those of its family. Add a policy as a `Policy` in `POLICIES`.
"""
