"""reseller_plans.service_manager: the "for Resellers Service Manager" the platform calls.

``ServiceManager`` answers the platform's Service Management API (``docs/service-manager.md``):
Get Services Definition declares the Free and Standard plan products, the pre-check enforces
eligibility at checkout, and Create, Update, Suspend, Activate and Cancel drive the same
``ResellerPlans`` commands a host application calls. It is framework-agnostic;
``reseller_plans.service_manager.asgi.create_app`` serves it over HTTP (the ``server`` extra).

    >>> from reseller_plans.service_manager import PlanCatalog, ResultCode, ServiceManager
"""

from reseller_plans.service_manager.accounts import (
    PlatformTokenAccountReader,
    configured_bss_reader,
)
from reseller_plans.service_manager.catalog import (
    ALIAS_ATTRIBUTE,
    PLAN_ATTRIBUTE,
    PLAN_CODE_PREFIX,
    PlanCatalog,
    PlanPrice,
    PlanProduct,
)
from reseller_plans.service_manager.codes import ResultCode
from reseller_plans.service_manager.directory import (
    AccountRecord,
    InMemoryDirectory,
    PlatformDirectory,
)
from reseller_plans.service_manager.handler import AccountReader, Response, ServiceManager
from reseller_plans.service_manager.headers import PlatformCall
from reseller_plans.service_manager.settings import DISTRIBUTOR_CODE, STOREFRONT_BASE_URL

__all__ = [
    # the handler
    "ServiceManager",
    "Response",
    "ResultCode",
    "PlatformCall",
    "AccountReader",
    "PlatformTokenAccountReader",
    "configured_bss_reader",
    # what it declares
    "PlanCatalog",
    "PlanProduct",
    "PlanPrice",
    "PLAN_ATTRIBUTE",
    "PLAN_CODE_PREFIX",
    "ALIAS_ATTRIBUTE",
    "STOREFRONT_BASE_URL",
    "DISTRIBUTOR_CODE",
    # what it remembers
    "PlatformDirectory",
    "InMemoryDirectory",
    "AccountRecord",
]
