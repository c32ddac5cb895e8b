"""The routes of the Service Management API, matched the way the platform calls them.

Routes are relative to the base URL registered on the platform, so a request path is matched on
its **last segments**, case-insensitively, with any trailing slash ignored:
``/api/ResellerPlans/subscriptions/create/`` is ``Subscriptions/Create``.

Routes reseller plans do not use (add-ons, trial conversion, end users, pay-per-use, account
deletion) are known and answered ``Code: -1`` "… functionality is not supported by default", as
the platform's own service manager SDK does (``docs/service-manager.md``).
"""

from __future__ import annotations

import enum

import attrs

__all__ = ["Endpoint", "Route", "find_route"]


class Endpoint(enum.Enum):
    """The endpoints the service manager implements."""

    FIELDS_GET = "Fields/Get"
    FIELDS_VALIDATE = "Fields/Validate"
    FIELDS_SERVICE_DEFINITION = "Fields/ServiceDefinition"
    FIELDS_ADDITIONAL_INFO = "Fields/AdditionalInfo"
    ACCOUNTS_SYNC_OPTIONS = "Accounts/SyncOptions"
    ACCOUNTS_SYNCHRONIZE = "Accounts/Synchronize"
    ACCOUNTS_EXISTS = "Accounts/Exists"
    SUBSCRIPTIONS_CREATE = "Subscriptions/Create"
    SUBSCRIPTIONS_UPDATE = "Subscriptions/Update"
    SUBSCRIPTIONS_UPGRADE_DOWNGRADE = "Subscriptions/UpgradeDowngrade"
    SUBSCRIPTIONS_SUSPEND = "Subscriptions/Suspend"
    SUBSCRIPTIONS_ACTIVATE = "Subscriptions/Activate"
    SUBSCRIPTIONS_CANCEL = "Subscriptions/Cancel"


_READ = frozenset({"GET", "POST"})  # read-only: a POST changes nothing either, so both are taken
_WRITE = frozenset({"POST"})
_ANY = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})

_READ_ONLY = frozenset(
    {
        Endpoint.FIELDS_GET,
        Endpoint.FIELDS_SERVICE_DEFINITION,
        Endpoint.FIELDS_ADDITIONAL_INFO,
        Endpoint.ACCOUNTS_SYNC_OPTIONS,
    }
)


@attrs.frozen
class Route:
    """A matched route.

    Attributes:
        name: the route as the platform's documentation spells it (``Subscriptions/Create``).
        action: the action's name, as the "not supported" message gives it.
        endpoint: the implemented endpoint, or None for a known route we do not support.
        methods: the HTTP methods it takes.
    """

    name: str
    action: str
    endpoint: Endpoint | None
    methods: frozenset[str]

    @property
    def supported(self) -> bool:
        """True for a route the service manager implements."""
        return self.endpoint is not None


def _pair(name: str) -> tuple[str, str]:
    group, _, action = name.casefold().partition("/")
    return group, action


_BY_PAIR: dict[tuple[str, str], Route] = {
    _pair(e.value): Route(e.value, e.value.split("/")[1], e, _READ if e in _READ_ONLY else _WRITE)
    for e in Endpoint
}

_UNSUPPORTED = (
    "Accounts/Delete",
    "Accounts/IsReseller",
    "Subscriptions/UpgradeToPaid",
)
for _name in _UNSUPPORTED:
    _BY_PAIR[_pair(_name)] = Route(_name, _name.split("/")[1], None, _ANY)

_UNSUPPORTED_GROUPS = {"addons": "Addons", "addon": "Addons", "users": "Users", "ppu": "Ppu"}


def _segments(path: str) -> list[str]:
    return [s for s in path.split("?", 1)[0].split("/") if s]


def find_route(path: str) -> Route | None:
    """The route a request path names, or None.

    >>> find_route("/api/ResellerPlans/subscriptions/CREATE/").name
    'Subscriptions/Create'
    >>> find_route("/api/Addons/Update").supported
    False
    """
    segments = _segments(path)
    if len(segments) < 2:
        return None
    pair = (segments[-2].casefold(), segments[-1].casefold())
    route = _BY_PAIR.get(pair)
    if route is not None:
        return route
    # Whole groups we do not support: Addons/*, Users/* (and Users/Service/*), Ppu/*.
    for depth in (2, 3):
        if len(segments) >= depth:
            group = _UNSUPPORTED_GROUPS.get(segments[-depth].casefold())
            if group is not None:
                action = segments[-1][:64]
                action = action[:1].upper() + action[1:]
                return Route(f"{group}/{action}", action, None, _ANY)
    return None
