"""What the emulated platform knows: the distributor, accounts, products, orders, subscriptions,
aliases and storefronts, plus what tests read back (calls per route, a call log).

Plain Python, no web framework: the Starlette app (:mod:`reseller_plans.testing.emulator.app`)
turns requests into calls of the ``op_*`` methods, each returning ``(status, body)`` or raising
:class:`EmulatorError`. Seed it from a JSON fixture with :meth:`EmulatorState.from_json`.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import json
import threading
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from reseller_plans.testing.emulator.errors import EmulatorError
from reseller_plans.testing.emulator.odata import matches, parse_filter

__all__ = ["Call", "Credentials", "EmulatorError", "EmulatorState", "demo_fixture"]

JSON = Any


@attrs.frozen
class Credentials:
    """The credentials the emulator accepts.

    Attributes:
        client_key: the OAuth client key (HTTP Basic user of ``/oauth/token``).
        client_secret: the OAuth client secret.
        username: the password-grant user.
        password: its password.
        api_keys: Storefront API keys (``X-ApiKey``).
    """

    client_key: str = "demo-client-key"
    client_secret: str = attrs.field(default="demo-client-secret", repr=False)
    username: str = "api-user@disti.example"
    password: str = attrs.field(default="demo-password", repr=False)
    api_keys: frozenset[str] = attrs.field(
        default=frozenset({"demo-storefront-api-key"}), converter=frozenset, repr=False
    )


@attrs.frozen
class Call:
    """One request the emulator answered.

    Attributes:
        method: the HTTP method.
        route: the route template (``"POST /api/orders/{order_id}/checkout"``).
        path: the request path.
        status: the status answered.
        idempotency_key: the request's ``Idempotency-Key``, if any.
        replayed: answered from the idempotency cache.
    """

    method: str
    route: str
    path: str
    status: int
    idempotency_key: str | None = None
    replayed: bool = False


def demo_fixture() -> dict[str, Any]:
    """The sample fixture shipped with the package (``fixtures/demo.json``).

    Returns:
        A fresh copy of its JSON.
    """
    text = resources.files(__package__).joinpath("fixtures/demo.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _key(value: object) -> str:
    return str(value)


class EmulatorState:
    """The emulated BSS and Storefront's data, and the record of calls.

    Attributes:
        organization: the distributor's organization (``GET /api/organization``).
        accounts: accounts by id (as text).
        products: the catalog, in order.
        orders: orders by id, with their ``items``.
        subscriptions: subscriptions by id.
        aliases: alias → holder account id (text).
        storefronts: account id (text) → ``{alias, plan, status, url}``.
        credentials: what authentication accepts.
        token_lifetime: seconds a token lives (``expires_in``).
        calls: requests per route template.
        call_log: every request answered (bounded to the last ``max_log`` ones).
    """

    def __init__(
        self,
        *,
        organization: Mapping[str, Any],
        accounts: Iterable[Mapping[str, Any]] = (),
        products: Iterable[Mapping[str, Any]] = (),
        credentials: Credentials | None = None,
        token_lifetime: int = 3600,
        aliases: Mapping[str, Any] | None = None,
        storefronts: Mapping[str, Mapping[str, Any]] | None = None,
        max_log: int = 100_000,
    ) -> None:
        self.organization: dict[str, Any] = dict(organization)
        self.accounts: dict[str, dict[str, Any]] = {}
        for account in accounts:
            self.add_account(account)
        self.products: list[dict[str, Any]] = [dict(p) for p in products]
        self.credentials = credentials or Credentials()
        self.token_lifetime = token_lifetime
        self.orders: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, str] = {a: _key(v) for a, v in (aliases or {}).items()}
        self.storefronts: dict[str, dict[str, Any]] = {}
        for account_id, front in (storefronts or {}).items():
            self.storefronts[_key(account_id)] = {
                **front, "url": self._storefront_url(str(front.get("alias", "")))
            }  # fmt: skip
        self.tokens: dict[str, float] = {}
        self.calls: collections.Counter[str] = collections.Counter()
        self.call_log: collections.deque[Call] = collections.deque(maxlen=max_log)
        self.idempotency: dict[str, tuple[str, int, bytes]] = {}
        self.lock = threading.RLock()
        self._sequence = 0

    # -- building -----------------------------------------------------------------------------

    @classmethod
    def from_json(cls, source: str | Path | Mapping[str, Any]) -> EmulatorState:
        """A state seeded from a JSON fixture (a path to a file, or the parsed dict).

        The fixture has ``organization``, ``accounts``, ``products`` and optionally
        ``credentials`` (``clientKey``, ``clientSecret``, ``username``, ``password``,
        ``apiKeys``), ``tokenLifetime``, ``aliases`` (alias → account id) and ``storefronts``
        (account id → ``{alias, plan, status}``). See ``fixtures/demo.json``.

        Args:
            source: the fixture.

        Returns:
            The state.

        Raises:
            ValueError: the fixture is not a JSON object or lacks ``organization``.
        """
        if isinstance(source, Mapping):
            data: Mapping[str, Any] = copy.deepcopy(dict(source))
        else:
            loaded = json.loads(Path(source).read_text("utf-8"))
            if not isinstance(loaded, dict):
                raise ValueError(f"{source}: a fixture is a JSON object")
            data = loaded
        if not isinstance(data.get("organization"), Mapping):
            raise ValueError("a fixture needs an 'organization' object")
        creds = data.get("credentials") or {}
        defaults = Credentials()
        credentials = Credentials(
            client_key=creds.get("clientKey", defaults.client_key),
            client_secret=creds.get("clientSecret", defaults.client_secret),
            username=creds.get("username", defaults.username),
            password=creds.get("password", defaults.password),
            api_keys=frozenset(creds.get("apiKeys", defaults.api_keys)),
        )
        return cls(
            organization=data["organization"],
            accounts=data.get("accounts", ()),
            products=data.get("products", ()),
            credentials=credentials,
            token_lifetime=int(data.get("tokenLifetime", 3600)),
            aliases=data.get("aliases"),
            storefronts=data.get("storefronts"),
        )

    @classmethod
    def demo(cls, *, extra_resellers: int = 0) -> EmulatorState:
        """The shipped demo fixture, optionally with more Basic resellers (for benchmarks).

        Args:
            extra_resellers: how many resellers to add, ids from 10001 up.

        Returns:
            The state.
        """
        state = cls.from_json(demo_fixture())
        distributor = state.organization["id"]
        for n in range(extra_resellers):
            account_id = 10001 + n
            state.add_account(
                {"id": account_id, "name": f"Reseller {account_id}",
                 "email": f"admin@reseller{account_id}.example", "resellingEnabled": True,
                 "billToAccountId": distributor}
            )  # fmt: skip
        return state

    def add_account(self, account: Mapping[str, Any]) -> dict[str, Any]:
        """Add (or replace) an account.

        Args:
            account: its JSON (``id`` required).

        Returns:
            The stored account.
        """
        stored = dict(account)
        self.accounts[_key(stored["id"])] = stored
        return stored

    # -- small helpers ------------------------------------------------------------------------

    def next_id(self, prefix: str) -> str:
        """A new id, unique within this state.

        Args:
            prefix: ``"O"`` for orders, ``"I"`` for items, …

        Returns:
            The id.
        """
        return f"{prefix}-{self._next_number()}"

    def _next_number(self) -> int:
        with self.lock:
            self._sequence += 1
            return self._sequence

    def _storefront_url(self, alias: str) -> str:
        host = str(self.organization.get("storefrontHost", "storefront.example"))
        return f"https://{host}/{alias}"

    def expire_tokens(self) -> None:
        """Forget every issued token: the next bearer request gets 401."""
        self.tokens.clear()

    def record(self, call: Call) -> None:
        """Record an answered request.

        Args:
            call: the request and its answer.
        """
        self.calls[call.route] += 1
        self.call_log.append(call)

    def calls_to(self, route: str) -> int:
        """How many requests a route answered.

        Args:
            route: the route template, such as ``"POST /api/orders"``.

        Returns:
            The count.
        """
        return self.calls[route]

    # -- rendering ----------------------------------------------------------------------------

    def render_account(self, account: Mapping[str, Any]) -> dict[str, Any]:
        """An account as ``GET /api/accounts/{id}`` shows it (v3 ``billToAccount`` object).

        Args:
            account: the stored account.

        Returns:
            Its JSON.
        """
        shown = dict(account)
        bill_to = account.get("billToAccountId")
        if bill_to is not None:
            payer = self.accounts.get(_key(bill_to))
            shown["billToAccount"] = {"id": bill_to, "name": payer["name"] if payer else ""}
        return shown

    # -- BSS operations -----------------------------------------------------------------------

    def account(self, account_id: str) -> dict[str, Any]:
        """A stored account.

        Args:
            account_id: its id.

        Returns:
            The account.

        Raises:
            EmulatorError: 404.
        """
        found = self.accounts.get(_key(account_id))
        if found is None:
            raise EmulatorError(404, f"Account {account_id} was not found.")
        return found

    def patch_account(self, account_id: str, operations: JSON) -> dict[str, Any]:
        """Apply a JSON Patch document (``add``, ``replace``, ``remove`` on top-level paths).

        Args:
            account_id: the account.
            operations: the document.

        Returns:
            The account as rendered after the patch.

        Raises:
            EmulatorError: 404, or 400 for a malformed document.
        """
        account = self.account(account_id)
        if not isinstance(operations, list) or not operations:
            raise EmulatorError(400, "A JSON Patch document is a non-empty array.")
        updated = dict(account)
        for op in operations:
            if not isinstance(op, dict) or not isinstance(op.get("path"), str):
                raise EmulatorError(400, "Each operation needs 'op' and 'path'.")
            name = op["path"].lstrip("/")
            if not name or "/" in name or name == "id":
                raise EmulatorError(400, f"The path {op['path']!r} cannot be patched.")
            kind = op.get("op")
            if kind in ("add", "replace"):
                if "value" not in op:
                    raise EmulatorError(400, f"The operation on {op['path']!r} needs a value.")
                updated[name] = op["value"]
            elif kind == "remove":
                updated.pop(name, None)
            else:
                raise EmulatorError(400, f"The operation {kind!r} is not supported.")
        self.accounts[_key(account_id)] = updated
        return self.render_account(updated)

    def filtered_accounts(self, expression: str | None) -> list[dict[str, Any]]:
        """Accounts matching an OData ``$filter`` of ``field eq value`` clauses joined by ``and``.

        Args:
            expression: the filter, or None for every account.

        Returns:
            The matching accounts, in id order.

        Raises:
            EmulatorError: 400 for a filter outside that subset.
        """
        clauses = parse_filter(expression) if expression else []
        reselling = {"resellingEnabled": _reselling}
        return [a for a in self.accounts.values() if matches(a, clauses, reselling)]

    def filtered_subscriptions(self, expression: str | None) -> list[dict[str, Any]]:
        """Subscriptions matching an OData ``$filter`` as :meth:`filtered_accounts` reads it;
        ``accountId`` is the subscribing account's id.

        Args:
            expression: the filter, or None for every subscription.

        Returns:
            The matching subscriptions, oldest first.

        Raises:
            EmulatorError: 400 for a filter outside that subset.
        """
        clauses = parse_filter(expression) if expression else []
        account = {"accountId": _subscriber}
        return [s for s in self.subscriptions.values() if matches(s, clauses, account)]

    def create_order(self, body: JSON, *, channel: str = "bss") -> dict[str, Any]:
        """A new Draft order (``POST /api/orders`` or a Storefront basket).

        Args:
            body: ``{"accountId": ...}``.
            channel: ``"bss"`` or ``"storefront"``.

        Returns:
            The order.

        Raises:
            EmulatorError: 400 without an account, 404 for an unknown one.
        """
        if not isinstance(body, dict) or body.get("accountId") is None:
            raise EmulatorError(400, "The accountId field is required.")
        account = self.account(str(body["accountId"]))
        created = dt.datetime.now(dt.UTC)
        order = {
            "id": self.next_id("O"),
            "accountId": account["id"],
            "status": "Draft",
            "channel": channel,
            "orderDate": created.isoformat(),
            "expirationDate": (created + dt.timedelta(days=7)).isoformat(),
            "items": [],
        }
        self.orders[order["id"]] = order
        return order

    def draft(self, order_id: str) -> dict[str, Any]:
        """A Draft order.

        Args:
            order_id: its id.

        Returns:
            The order.

        Raises:
            EmulatorError: 404, or 400 when it is no longer a draft.
        """
        order = self.orders.get(order_id)
        if order is None:
            raise EmulatorError(404, f"Order {order_id} was not found.")
        if order["status"] != "Draft":
            raise EmulatorError(400, f"Order {order_id} is {order['status']}, not Draft.")
        return order

    def add_item(self, order_id: str, body: JSON) -> dict[str, Any]:
        """Add a line to a draft.

        Args:
            order_id: the order.
            body: ``{productId, quantity, billingCycle, attributes}``.

        Returns:
            The item.

        Raises:
            EmulatorError: 404 for an unknown order or product, 400 for a bad line.
        """
        order = self.draft(order_id)
        if not isinstance(body, dict) or body.get("productId") is None:
            raise EmulatorError(400, "The productId field is required.")
        product_id = str(body["productId"])
        if not any(str(p.get("id")) == product_id for p in self.products):
            raise EmulatorError(404, f"Product {product_id} was not found.")
        quantity = body.get("quantity", 1)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise EmulatorError(400, "The quantity must be a positive integer.")
        attributes = body.get("attributes", [])
        if not isinstance(attributes, list) or not all(
            isinstance(a, dict) and "name" in a for a in attributes
        ):
            raise EmulatorError(400, "The attributes must be a list of {name, value}.")
        item = {
            "id": self.next_id("I"),
            "productId": body["productId"],
            "quantity": quantity,
            "billingCycle": body.get("billingCycle", "Monthly"),
            "attributes": attributes,
        }
        order["items"].append(item)
        return item

    def checkout(self, order_id: str) -> dict[str, Any]:
        """Execute a draft: one Active subscription per line; the alias on a line is held.

        Args:
            order_id: the order.

        Returns:
            ``{id, status, subscriptionId, subscriptions: [{id}]}``.

        Raises:
            EmulatorError: 404, 400 for an empty draft, 409 when a line's alias is taken.
        """
        order = self.draft(order_id)
        if not order["items"]:
            raise EmulatorError(400, f"Order {order_id} has no items.")
        account_id = _key(order["accountId"])
        for item in order["items"]:
            alias = _alias_of(item)
            if alias is not None:
                self._check_alias_free(alias, account_id)
        created = []
        for item in order["items"]:
            alias = _alias_of(item)
            if alias is not None:
                self.aliases[alias] = account_id
            subscription_id = f"00000000-0000-4000-8000-{self._next_number():012d}"
            subscription = {
                "id": subscription_id,
                "name": _product_name(self.products, item["productId"]),
                "account": {"id": order["accountId"]},
                "billingTo": {"id": order["accountId"]},
                "productId": item["productId"],
                "orderId": order_id,
                "status": "Active",
                "quantity": item["quantity"],
                "billingCycle": item["billingCycle"],
                "attributes": item["attributes"],
                "createdAt": dt.datetime.now(dt.UTC).isoformat(),
            }
            self.subscriptions[subscription_id] = subscription
            item["subscriptionId"] = subscription_id
            created.append({"id": subscription_id})
        order["status"] = "Executed"
        return {
            "id": order_id,
            "status": "Executed",
            "subscriptionId": created[0]["id"],
            "subscriptions": created,
        }

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        """A subscription.

        Args:
            subscription_id: its id.

        Returns:
            The subscription.

        Raises:
            EmulatorError: 404.
        """
        found = self.subscriptions.get(subscription_id)
        if found is None:
            raise EmulatorError(404, f"Subscription {subscription_id} was not found.")
        return found

    def subscription_action(self, subscription_id: str, action: str) -> dict[str, Any]:
        """Cancel, suspend or resume; repeating the action is a success.

        Args:
            subscription_id: the subscription.
            action: ``cancel``, ``suspend`` or ``resume``.

        Returns:
            The subscription after the action.

        Raises:
            EmulatorError: 404, or 400 when the status does not allow it.
        """
        subscription = self.subscription(subscription_id)
        status = subscription["status"]
        target = {"cancel": "Cancelled", "suspend": "Suspended", "resume": "Active"}[action]
        allowed = {
            "cancel": {"Active", "Suspended", "Cancelled"},
            "suspend": {"Active", "Suspended"},
            "resume": {"Suspended", "Active"},
        }[action]
        if status not in allowed:
            raise EmulatorError(
                400, f"Subscription {subscription_id} is {status}: cannot {action}."
            )
        subscription["status"] = target
        return subscription

    # -- Storefront operations ----------------------------------------------------------------

    def hold_alias(self, alias: str, body: JSON) -> tuple[int, dict[str, Any]]:
        """Reserve an alias (201 new, 200 already the holder's).

        Args:
            alias: the alias.
            body: ``{"accountId": ...}``.

        Returns:
            (status, ``{alias, accountId}``).

        Raises:
            EmulatorError: 400 without an account, 409 when another account holds it.
        """
        if not isinstance(body, dict) or body.get("accountId") is None:
            raise EmulatorError(400, "The accountId field is required.")
        account_id = _key(body["accountId"])
        holder = self._check_alias_free(alias, account_id)
        self.aliases[alias] = account_id
        return (200 if holder else 201), {"alias": alias, "accountId": body["accountId"]}

    def _check_alias_free(self, alias: str, account_id: str) -> str | None:
        """The account holding ``alias`` (None when free); 409 when it is another account."""
        holder = self.aliases.get(alias)
        if holder is not None and holder != account_id:
            raise EmulatorError(409, f"The Storefront Alias '{alias}' is taken.")
        return holder

    def release_alias(self, alias: str, account_id: str | None) -> None:
        """Release an alias held by ``account_id``.

        Args:
            alias: the alias.
            account_id: who releases it.

        Raises:
            EmulatorError: 404 when unheld, 409 when another account holds it.
        """
        holder = self.aliases.get(alias)
        if holder is None:
            raise EmulatorError(404, f"The Storefront Alias '{alias}' is not held.")
        if account_id is None or holder != account_id:
            raise EmulatorError(409, f"The Storefront Alias '{alias}' is held by another account.")
        del self.aliases[alias]

    def activate_storefront(self, account_id: str, body: JSON) -> dict[str, Any]:
        """Put a reseller's storefront live under its alias (holding the alias if free).

        Args:
            account_id: the reseller.
            body: ``{alias, plan}``.

        Returns:
            ``{url, alias, plan, status}``.

        Raises:
            EmulatorError: 404 for an unknown account, 400 for a bad body, 409 for a taken alias.
        """
        self.account(account_id)
        if not isinstance(body, dict) or not isinstance(body.get("alias"), str):
            raise EmulatorError(400, "The alias field is required.")
        alias = body["alias"]
        self._check_alias_free(alias, account_id)
        self.aliases[alias] = account_id
        front = {
            "alias": alias,
            "plan": body.get("plan", "Standard"),
            "status": "Active",
            "url": self._storefront_url(alias),
        }
        self.storefronts[account_id] = front
        return front

    def storefront(self, account_id: str) -> dict[str, Any]:
        """The reseller's storefront (``{url, alias, plan, status}``).

        Raises:
            EmulatorError: 404 when the reseller has none.
        """
        front = self.storefronts.get(account_id)
        if front is None:
            raise EmulatorError(404, f"Account {account_id} has no storefront.")
        return front

    def storefront_action(self, account_id: str, action: str) -> dict[str, Any]:
        """Suspend, resume or deactivate a storefront (repeating is a success).

        Args:
            account_id: the reseller.
            action: ``suspend``, ``resume`` or ``deactivate``.

        Returns:
            The storefront.

        Raises:
            EmulatorError: 404 when the reseller has no storefront (deactivate: never).
        """
        front = self.storefronts.get(account_id)
        if front is None:
            if action == "deactivate":
                return {"status": "Inactive"}
            raise EmulatorError(404, f"Account {account_id} has no storefront.")
        if action == "resume" and front["status"] == "Inactive":
            raise EmulatorError(400, "A deactivated storefront cannot be resumed.")
        front["status"] = {"suspend": "Suspended", "resume": "Active"}.get(action, "Inactive")
        return front


def _alias_of(item: Mapping[str, Any]) -> str | None:
    for attribute in item.get("attributes", ()):
        if attribute.get("name") == "StorefrontAlias" and attribute.get("value"):
            return str(attribute["value"])
    return None


def _product_name(products: list[dict[str, Any]], product_id: object) -> str:
    for product in products:
        if str(product.get("id")) == str(product_id):
            return str(product.get("name", product_id))
    return str(product_id)


def _reselling(account: Mapping[str, Any]) -> object:
    return account.get("resellingEnabled", account.get("enableReselling", False))


def _subscriber(subscription: Mapping[str, Any]) -> object:
    return (subscription.get("account") or {}).get("id")
