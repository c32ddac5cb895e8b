"""reseller_plans.testing: stateful in-memory fakes of every port, a fake clock, and the tools
that simulate whole subscription lifecycles (see ``docs/testing.md``).
"""
