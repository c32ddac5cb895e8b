"""The Storefront adapter: ``StorefrontClient`` implements the ``Storefront`` port over HTTP.

Its routes are inferred (the platform publishes none): configure them with
:class:`StorefrontWireConfig`; see ``docs/adapters.md``.
"""

from reseller_plans.storefront.client import StorefrontClient
from reseller_plans.storefront.wire import StorefrontWireConfig

__all__ = ["StorefrontClient", "StorefrontWireConfig"]
