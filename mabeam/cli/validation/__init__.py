"""``mabeam validate``: measure the scenario document's success criteria and write the readiness report.

``criteria`` holds the criteria (quoted from the seed scenario document, with
where each comes from); ``measure`` runs the examples, checks, proofs,
benchmarks and scenario runs that produce the figures; ``judge`` turns figures
into pass / fail / not-measured; ``plots`` draws them; ``report`` writes
Markdown, HTML and JSON; ``runner`` is the verb.
"""
