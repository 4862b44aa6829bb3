"""The rules of the judge, one module per finding family (design §14).

    common       building a finding, pointing at an event, the event proving a milestone
    milestones   milestone.*: which milestones are proven (explicit or inferred), which missing
    shipment     shipment.*, carrier.actual_differs: what the carrier says about the number
    destination  destination.*: shipped, delivered, postal code or city elsewhere
    carrier      carrier.number_mismatch / channel_mismatch: the declared carrier or channel
    numbers      number.*: the S10 check digit, a number shared by or merged with other orders
    timeline     timeline.*, transit.*, events.unrecognized: when things happened
    policy       policy.*: the marketplace policy's own findings

Each rule is a pure function of `tracking.judge.facts` and the order's events;
`tracking.judge.validator.evaluate` runs them in a fixed order and decides the verdict. A new
finding gets a row in `findings.toml` (read as `tracking.judge.findings.CATALOGUE`) and a rule
in the module of its family.
"""
