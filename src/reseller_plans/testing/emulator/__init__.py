"""An HTTP emulator of the platform's BSS and Storefront, stateful and on loopback.

It speaks exactly the routes our adapters use (``docs/adapters.md``): the OAuth password grant
with client Basic auth, bearer-checked BSS routes that require ``X-Api-Version``, the paging
envelope ``{data, paging, links}``, ``$filter`` (``field eq value`` joined by ``and``), JSON
Patch on accounts, orders draft → items → checkout creating subscriptions, the Storefront's
aliases, storefronts and baskets, ``Idempotency-Key`` on writes, and fault injection.

Needs the ``server`` extra (Starlette, uvicorn), imported only inside this package::

    from reseller_plans.testing.emulator import EmulatorState, serve_emulator

    with serve_emulator(EmulatorState.demo()) as server:
        ...  # point BSSClient / StorefrontClient at server.url
        server.state.calls_to("POST /api/orders")

Standalone: ``python -m reseller_plans.testing.emulator --port 8080 --fixture demo.json``.
"""

from reseller_plans.testing.emulator.app import Emulator, create_app
from reseller_plans.testing.emulator.faults import Faults, RateLimit, ScriptedFault
from reseller_plans.testing.emulator.server import EmulatorServer, serve_emulator
from reseller_plans.testing.emulator.state import (
    Call,
    Credentials,
    EmulatorError,
    EmulatorState,
    demo_fixture,
)

__all__ = [
    "Call",
    "Credentials",
    "Emulator",
    "EmulatorError",
    "EmulatorServer",
    "EmulatorState",
    "Faults",
    "RateLimit",
    "ScriptedFault",
    "create_app",
    "demo_fixture",
    "serve_emulator",
]
