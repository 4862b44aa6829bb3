"""Judging: pure functions from an order's facts and events to findings and a verdict.

    facts       OrderFacts, ShipmentFacts: what the order says, what is known of each leg
    validator   evaluate: runs the rules, decides pass / fail / pending (Verdict)
    rules/      one module per finding family (milestones, shipment, destination, carrier,
                numbers, timeline, policy); a new finding goes into its family's module
    findings    the catalogue of finding codes, severities and titles (findings.toml)
    policies    marketplace policies (default, joom, shopee): what each requires
    milestones  which events prove the three milestones
    crosscheck  numbers shared by orders of one seller (facts from tracking.store.portfolio)
    history     finding spans from a verdict history (rows from tracking.store.history)
    scheduling  when a shipment is polled next, and when it is given up

Nothing here reads or writes the database: callers read the facts from `tracking.store` and
store the verdicts (`tracking.store.repository.recompute_verdicts`; in memory:
`tracking.read.rejudge`).
"""
