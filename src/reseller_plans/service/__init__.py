"""The service: ``ResellerPlans``, the shell around the pure domain, as a package.

Each module owns one job, and only the drivers do I/O:

- ``facade``: ``ResellerPlans``, construction and one short method per command;
- ``inputs``: the parsing of every argument a host passes, refusing mistakes as ``InvalidInput``;
- ``queries``: the façade's reads of the store;
- ``preview``: what a command would do, asked of its planner, with nothing written;
- ``access``: authorization, and idempotency keys scoped to their actor;
- ``planning``: a pure planner per command (facts in, decision out), shared by every driver;
- ``commands``: replay or plan, commit, then drive (the synchronous command driver);
- ``reads``: what one command reads from the BSS and Storefront, once each;
- ``steps``: the step table, each saga step as the port call it makes;
- ``driver``: the saga driver, the only code that runs a step through a port;
- ``messages``: the recipients and contexts of messages;
- ``outbox``: the outbox sender;
- ``leases``: one owner at a time: the lease each driver call holds;
- ``scheduler``: the due work of ``run_due``.
"""

from reseller_plans.service.facade import ResellerPlans
from reseller_plans.service.leases import LeaseSettings
from reseller_plans.service.outbox import MessageRenderer, RenderedMessage
from reseller_plans.service.preview import Preview
from reseller_plans.service.reports import DueFailure, DueReport, Repaired

__all__ = [
    "DueFailure",
    "Repaired",
    "DueReport",
    "LeaseSettings",
    "MessageRenderer",
    "Preview",
    "RenderedMessage",
    "ResellerPlans",
]
