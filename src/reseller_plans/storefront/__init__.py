"""The Storefront adapter: ``StorefrontClient`` implements the ``Storefront`` port over HTTP,
and ``AsyncStorefrontClient`` is its async twin (``docs/async.md``).

Its routes are inferred (the platform publishes none): configure them with
:class:`StorefrontWireConfig`; see ``docs/adapters.md``.
"""

from reseller_plans.storefront.async_client import AsyncStorefrontClient
from reseller_plans.storefront.client import StorefrontClient
from reseller_plans.storefront.wire import StorefrontWireConfig

__all__ = ["AsyncStorefrontClient", "StorefrontClient", "StorefrontWireConfig"]
