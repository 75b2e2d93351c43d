"""`smtpdoctor monitor`: scheduled and on-demand probes, metrics, alerts, history.

Everything here except ``probing`` works on ``ProbeSample`` values only, so the probe
and diagnosis layers can change shape behind one adapter.
"""
