"""``ServiceManager``: the "for Resellers Service Manager" that the platform calls.

It is framework-agnostic: ``handle(method, path, headers, body, query)`` takes one HTTP request
and returns its ``Response``; ``reseller_plans.service_manager.asgi`` serves it over HTTP.

Outcomes, per call (``docs/service-manager.md``, "What each call does"):

- **not authenticated** → HTTP 401, empty body, nothing changed;
- **authenticated** → HTTP 200 with a JSON body, also for every business error: account and
  subscription calls answer ``{"Code", "Message", "Result"}`` (``ResultCode``), ``Fields/*`` the
  bare model;
- an unknown route → 404, a wrong method → 405 (both with an empty body);
- a bug → HTTP 500 ``{"Message": "An error has occurred."}``, logged with its traceback, which
  never reaches the response.

Subscription calls carry the pre-check flag (``CheckOnly`` in the body, or ``?checkonly=true``):
then the call is validated in full, every failure is listed in ``Message``, and nothing changes.
Every write acts as the distributor (``Actor.distributor(distributor_id)``) through
``ResellerPlans``, with ``platform_initiated=True``: the platform already did its side.
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Final, NamedTuple, Protocol

from reseller_plans.domain import lifecycle
from reseller_plans.domain.accounts import ResellerAccount
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.errors import (
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    ResellerPlansError,
)
from reseller_plans.domain.lifecycle import Context, Trigger
from reseller_plans.domain.plans import Plan, Timing
from reseller_plans.domain.subscription import (
    BillingCycle,
    Channel,
    OperationKind,
    PendingKind,
    Subscription,
    SubscriptionStatus,
)
from reseller_plans.logs import get_logger
from reseller_plans.service import ResellerPlans
from reseller_plans.service_manager.answers import (
    Answer,
    alias_change,
    final_text,
    outcome,
    refusal,
)
from reseller_plans.service_manager.catalog import ALIAS_ATTRIBUTE, PLAN_ATTRIBUTE, PlanCatalog
from reseller_plans.service_manager.codes import ResultCode
from reseller_plans.service_manager.directory import (
    AccountRecord,
    InMemoryDirectory,
    PlatformDirectory,
)
from reseller_plans.service_manager.headers import (
    Credentials,
    Headers,
    PlatformCall,
    header_values,
)
from reseller_plans.service_manager.precheck import (
    failure_text,
    precheck_create,
    precheck_update,
    state_remedy,
)
from reseller_plans.service_manager.routes import Endpoint, Route, find_route
from reseller_plans.service_manager.settings import (
    DISTRIBUTOR_CODE,
    settings_fields,
    validate_settings,
)
from reseller_plans.service_manager.wire import (
    AccountRequest,
    BadRequest,
    ServiceRequest,
    dump_json,
    envelope,
    load_json,
    parse_account_request,
    parse_field_values,
    parse_service_request,
)

__all__ = ["AccountReader", "Response", "ServiceManager"]

logger = get_logger("service_manager")

_JSON: Final = (("content-type", "application/json; charset=utf-8"), ("cache-control", "no-store"))
_ERROR_BODY: Final = {"Message": "An error has occurred."}
_IDEMPOTENCY_PREFIX: Final = "platform:"
_PLAN_CHANGES: Final = (Endpoint.SUBSCRIPTIONS_UPDATE, Endpoint.SUBSCRIPTIONS_UPGRADE_DOWNGRADE)


class Response(NamedTuple):
    """One HTTP answer: status, headers (lower-case names) and body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def json(self) -> object:
        """The body parsed as JSON.

        Raises:
            ValueError: the body is empty or not JSON.
        """
        return json.loads(self.body)


class AccountReader(Protocol):
    """Reads an account from the BSS (for its reselling flag, which the platform's account model
    lacks). The default reads it through ``ResellerPlans.bss``; one that calls the BSS with the
    platform's token may use ``call.platform_token`` and ``call.platform_base_uri``.
    """

    def __call__(self, account_id: str, call: PlatformCall) -> ResellerAccount: ...


class _UnknownProduct(Exception):
    """The request names no plan (A.11 resolution found nothing)."""


class _KeyedLocks:
    """One lock per key, created on demand and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


def _bss_reader(plans: ResellerPlans) -> AccountReader:
    def read(account_id: str, call: PlatformCall) -> ResellerAccount:
        return plans.bss.get_account(account_id)

    return read


class ServiceManager:
    """Answers the platform's Service Management API calls with ``ResellerPlans``.

    Args:
        plans: the reseller plans service every call acts through.
        credentials: application id → API key, as issued at registration (the key itself, not
            its base64 form).
        distributor_id: the distributor this service manager serves; every write acts as it.
        catalog: the plan products declared by ``Fields/ServiceDefinition`` and used to
            recognize a request's plan (the defaults of ``PlanCatalog`` when None).
        max_body_bytes: the largest request body read; a larger one is refused unread.
        account_reader: reads an account from the BSS (default: ``plans.bss.get_account``).
        directory: where platform ids are remembered (in memory by default).
        downgrade_timing: when a Standard → Free change the platform asks for takes effect
            (immediately by default: the platform decides when to ask).

    Raises:
        InvalidInput: no credentials, an empty distributor id, or a body limit below 1 KiB.
    """

    def __init__(
        self,
        plans: ResellerPlans,
        *,
        credentials: Mapping[str, str],
        distributor_id: str,
        catalog: PlanCatalog | None = None,
        max_body_bytes: int = 64 * 1024,
        account_reader: AccountReader | None = None,
        directory: PlatformDirectory | None = None,
        downgrade_timing: Timing = Timing.IMMEDIATE,
    ) -> None:
        if max_body_bytes < 1024:
            raise InvalidInput("max_body_bytes must be at least 1024")
        self.plans = plans
        self.actor = Actor.distributor(distributor_id)
        self.distributor_id = self.actor.id
        self.catalog = catalog or PlanCatalog()
        self.max_body_bytes = max_body_bytes
        self.account_reader: AccountReader = account_reader or _bss_reader(plans)
        self.directory: PlatformDirectory = directory or InMemoryDirectory()
        self.downgrade_timing = downgrade_timing
        self._credentials = Credentials(credentials)
        self._locks = _KeyedLocks()

    def __repr__(self) -> str:
        return f"ServiceManager(distributor_id={self.distributor_id!r}, plans={self.plans!r})"

    # ------------------------------------------------------------------ HTTP in, HTTP out

    def handle(
        self, method: str, path: str, headers: Headers, body: bytes, query: str = ""
    ) -> Response:
        """Answer one HTTP request of the platform.

        Args:
            method: the HTTP method.
            path: the request path (any base path before the route is ignored).
            headers: the request headers.
            body: the request body, as received (at most ``max_body_bytes`` + 1 bytes need be
                read: anything longer is refused).
            query: the query string, without ``?``.

        Returns:
            The response. Never raises for anything a request contains.
        """
        track_id: str | None = None
        try:
            values = header_values(headers)
            app_id = self._credentials.authenticate(values)
            if app_id is None:
                logger.warning("refused %s %s: not authenticated", method, _short(path))
                return Response(401, (), b"")
            route = find_route(path)
            if route is None:
                logger.info("no route %s %s", method, _short(path))
                return Response(404, (), b"")
            if method.upper() not in route.methods:
                allow = ", ".join(sorted(route.methods))
                return Response(405, (("allow", allow),), b"")
            call = PlatformCall.from_headers(route.name, app_id, values)
            track_id = call.track_id
            status, payload = self._dispatch(route, call, values, body, query)
            return Response(status, _JSON, dump_json(payload))
        except Exception:
            logger.exception(
                "unexpected error answering %s %s (track id %r)", method, _short(path), track_id
            )
            return Response(500, _JSON, dump_json(_ERROR_BODY))

    def _dispatch(
        self,
        route: Route,
        call: PlatformCall,
        headers: Mapping[str, list[str]],
        body: bytes,
        query: str,
    ) -> tuple[int, object]:
        endpoint = route.endpoint
        if endpoint is None:
            message = f"{route.action} functionality is not supported by default"
            self._log(call, ResultCode.NOT_SUPPORTED, message)
            return 200, envelope(ResultCode.NOT_SUPPORTED, message)
        if endpoint is Endpoint.FIELDS_GET:
            return 200, settings_fields()
        if endpoint is Endpoint.FIELDS_SERVICE_DEFINITION:
            return 200, self.catalog.service_definition()
        if endpoint is Endpoint.FIELDS_ADDITIONAL_INFO:
            return 200, {}
        if endpoint is Endpoint.ACCOUNTS_SYNC_OPTIONS:
            return 200, {"Fields": []}
        check_only = _check_only_query(query)
        try:
            document = self._read_body(headers, body)
            if endpoint is Endpoint.FIELDS_VALIDATE:
                values = parse_field_values(document)
                return 200, validate_settings(values, distributor_id=self.distributor_id)
            answer = self._answer(endpoint, call, document, check_only)
        except BadRequest as exc:
            if endpoint is Endpoint.FIELDS_VALIDATE:
                return 200, [f"bad request: {exc}"]
            answer = Answer(exc.code, f"bad request: {exc}")
        self._log(call, answer.code, answer.message)
        return 200, envelope(answer.code, answer.message, answer.result)

    def _read_body(self, headers: Mapping[str, list[str]], body: bytes) -> object:
        declared = headers.get("content-length")
        if declared:
            text = declared[-1].strip()
            if not (text.isascii() and text.isdigit()):
                raise BadRequest("Content-Length is not a number")
            if len(text) > 18 or int(text) > self.max_body_bytes:
                raise BadRequest(f"the body is larger than {self.max_body_bytes} bytes")
        return load_json(body, limit=self.max_body_bytes)

    def _log(self, call: PlatformCall, code: ResultCode, message: str) -> None:
        logger.info(
            "%s answered Code %d (track id %r): %r", call.route, code, call.track_id, message
        )

    # ------------------------------------------------------------------ accounts, subscriptions

    def _answer(
        self, endpoint: Endpoint, call: PlatformCall, document: object, check_only: bool
    ) -> Answer:
        try:
            if endpoint is Endpoint.ACCOUNTS_SYNCHRONIZE:
                self._check_distributor_setting(call)
                return self._synchronize(parse_account_request(document), call, check_only)
            if endpoint is Endpoint.ACCOUNTS_EXISTS:
                return self._exists(parse_account_request(document))
            request = parse_service_request(document, check_only=check_only)
            self._check_distributor_setting(call)
            if endpoint is Endpoint.SUBSCRIPTIONS_CREATE:
                return self._create(request, call)
            if endpoint in (
                Endpoint.SUBSCRIPTIONS_UPDATE,
                Endpoint.SUBSCRIPTIONS_UPGRADE_DOWNGRADE,
            ):
                return self._update(request)
            if endpoint is Endpoint.SUBSCRIPTIONS_SUSPEND:
                return self._suspend(request)
            if endpoint is Endpoint.SUBSCRIPTIONS_ACTIVATE:
                return self._activate(request)
            return self._cancel(request)
        except _UnknownProduct as exc:
            return Answer(ResultCode.UNKNOWN_PRODUCT, f"unknown product: {exc}")
        except ResellerPlansError as exc:
            return refusal(exc)

    def _check_distributor_setting(self, call: PlatformCall) -> None:
        code = call.setting(DISTRIBUTOR_CODE)
        if code is not None and code != self.distributor_id:
            raise Forbidden(
                f"this service manager serves distributor {self.distributor_id!r}, but the "
                f"{DISTRIBUTOR_CODE} setting names {code!r}: correct the setting"
            )

    # --- accounts

    def _synchronize(self, request: AccountRequest, call: PlatformCall, check_only: bool) -> Answer:
        platform_id = request.id
        if platform_id is None:
            raise BadRequest("ID (the platform's account id) is required")
        account = self.account_reader(platform_id, call)
        record = AccountRecord(
            platform_account_id=platform_id,
            external_id=account.id,
            name=account.name,
            reselling_enabled=account.reselling_enabled,
            synchronized_at=self.plans.clock.now(),
        )
        note = (
            "it is marked as a reseller"
            if account.reselling_enabled
            else "it is not marked as a reseller, so it cannot get a reseller plan until "
            "Enable Reselling is ticked"
        )
        if check_only:
            return Answer(ResultCode.OK, f"account {platform_id} can be synchronized; {note}")
        self.directory.put_account(record)
        return Answer(ResultCode.OK, f"account {platform_id} synchronized; {note}", account.id)

    def _exists(self, request: AccountRequest) -> Answer:
        for key in (request.id, request.external_id):
            record = None if key is None else self.directory.get_account(key)
            if record is not None:
                return Answer(
                    ResultCode.EXISTS,
                    f"account {record.platform_account_id} is known",
                    record.external_id,
                )
        return Answer(ResultCode.OK, "the account is not known yet")

    # --- Subscriptions/Create

    def _create(self, request: ServiceRequest, call: PlatformCall) -> Answer:
        account_id = _account_id(request)
        plan = self._plan_of(request)
        alias = _alias_of(request)
        if request.check_only:
            # The pre-check reads the account the platform's way (its token and base URI,
            # with the configured BSS as the fallback), through the account reader's cache.
            account = self.account_reader(account_id, call)
            return self._precheck_create(account_id, plan, alias, account)
        platform_id = request.subscription_id
        if platform_id is None:
            raise BadRequest("SubscriptionID (the platform's subscription id) is required")
        with self._locks.hold(f"account:{account_id}"):
            existing = self.plans.subscription_of(account_id)
            refusal = None if existing is None else alias_change(existing, alias)
            if refusal is not None and existing is not None and existing.plan is not plan:
                raise refusal  # Free → Standard keeps the subscription, and its alias
            if (
                existing is not None
                and existing.platform_subscription_id == platform_id
                and self._retry_if_failed(existing, OperationKind.ACTIVATION)
            ):
                # The platform retries a Create whose provisioning failed: resume it.
                self.plans.retry(existing.id, actor=self.actor)
            sub = self.plans.upgrade(
                account_id,
                plan,
                actor=self.actor,
                alias=alias,
                idempotency_key=_IDEMPOTENCY_PREFIX + platform_id,
                billing_cycle=request.billing_cycle or BillingCycle.MONTHLY,
                channel=Channel.PLATFORM,
                platform_subscription_id=platform_id,
            )
            self.directory.put_subscription(platform_id, sub.id)
        return outcome(sub, f"the {plan.title} plan is active for account {account_id}", plan=plan)

    def _precheck_create(
        self, account_id: str, plan: Plan, alias: str | None, account: ResellerAccount
    ) -> Answer:
        return Answer(*precheck_create(self.plans, self.actor, account_id, plan, alias, account))

    # --- Subscriptions/Update and UpgradeDowngrade

    def _update(self, request: ServiceRequest) -> Answer:
        sub = self._subscription_of(request)
        plan = self._plan_of(request)
        refusal = alias_change(sub, _alias_of(request))
        if refusal is not None:
            raise refusal
        timing = Timing.IMMEDIATE if plan is Plan.STANDARD else self.downgrade_timing
        if request.check_only:
            return self._precheck_update(sub, plan, timing)
        with self._locks.hold(f"account:{sub.account_id}"):
            sub = self.plans.get(sub.id)
            op, pending = sub.operation, sub.pending_change
            if self._retry_if_failed(sub, OperationKind.PLAN_CHANGE) and op and op.plan is plan:
                sub = self.plans.retry(sub.id, actor=self.actor)
            elif (
                plan is sub.plan and pending is not None and pending.kind is PendingKind.PLAN_CHANGE
            ):
                # The platform keeps the current product: the scheduled change is withdrawn.
                sub = self.plans.withdraw_change(sub.id, actor=self.actor)
                return Answer(
                    ResultCode.OK,
                    f"subscription {sub.id} stays on {plan.title}; the scheduled change to "
                    f"{pending.plan.title} was withdrawn",
                    sub.id,
                )
            elif plan is sub.plan and op is None:
                return Answer(
                    ResultCode.OK, f"subscription {sub.id} is on {plan.title} already", sub.id
                )
            elif pending is None or pending.plan is not plan:
                sub = self.plans.change_plan(
                    sub.id, plan, actor=self.actor, timing=timing, platform_initiated=True
                )
        change = sub.pending_change
        if change is not None and change.plan is plan and sub.operation is None:
            return Answer(
                ResultCode.OK,
                f"subscription {sub.id} moves to {plan.title} on {change.effective_at.isoformat()}",
                sub.id,
            )
        return outcome(sub, f"subscription {sub.id} is on the {plan.title} plan now", plan=plan)

    def _precheck_update(self, sub: Subscription, plan: Plan, timing: Timing) -> Answer:
        return Answer(*precheck_update(self.plans, self.actor, sub, plan, timing))

    # --- Suspend, Activate, Cancel

    def _suspend(self, request: ServiceRequest) -> Answer:
        sub = self._subscription_of(request)
        if request.check_only:
            return self._precheck_transition(sub, Trigger.SUSPEND, SubscriptionStatus.SUSPENDED)
        reason = "suspended on the platform"
        if request.requested_by:
            reason += f" by {request.requested_by}"
        with self._locks.hold(f"account:{sub.account_id}"):
            sub = self.plans.get(sub.id)
            if self._retry_if_failed(sub, OperationKind.SUSPENSION):
                sub = self.plans.retry(sub.id, actor=self.actor)
            elif sub.status is SubscriptionStatus.SUSPENDED and sub.operation is None:
                return Answer(ResultCode.OK, f"subscription {sub.id} is suspended already", sub.id)
            else:
                sub = self.plans.suspend(
                    sub.id, actor=self.actor, reason=reason, platform_initiated=True
                )
        return outcome(
            sub, f"subscription {sub.id} is suspended", expected=SubscriptionStatus.SUSPENDED
        )

    def _activate(self, request: ServiceRequest) -> Answer:
        sub = self._subscription_of(request)
        if request.check_only:
            return self._precheck_transition(sub, Trigger.RESUME, SubscriptionStatus.ACTIVE)
        with self._locks.hold(f"account:{sub.account_id}"):
            sub = self.plans.get(sub.id)
            if self._retry_if_failed(sub, OperationKind.RESUMPTION):
                sub = self.plans.retry(sub.id, actor=self.actor)
            elif sub.status is SubscriptionStatus.ACTIVE and sub.operation is None:
                return Answer(ResultCode.OK, f"subscription {sub.id} is active already", sub.id)
            else:
                sub = self.plans.resume(sub.id, actor=self.actor, platform_initiated=True)
        return outcome(
            sub, f"subscription {sub.id} is active again", expected=SubscriptionStatus.ACTIVE
        )

    def _cancel(self, request: ServiceRequest) -> Answer:
        sub = self._subscription_of(request)
        if sub.status.is_final:
            # Cancelled already (a repeated Cancel), or its activation failed and was rolled
            # back: the reseller is on Basic, which is what the platform asks for.
            return Answer(ResultCode.OK, final_text(sub), sub.id)
        if request.check_only:
            return self._precheck_transition(sub, Trigger.CANCEL, SubscriptionStatus.CANCELLED)
        with self._locks.hold(f"account:{sub.account_id}"):
            sub = self.plans.get(sub.id)
            if self._retry_if_failed(sub, OperationKind.CANCELLATION):
                sub = self.plans.retry(sub.id, actor=self.actor)
            elif sub.status.is_final:
                return Answer(ResultCode.OK, final_text(sub), sub.id)
            else:
                sub = self.plans.cancel(
                    sub.id, actor=self.actor, timing=Timing.IMMEDIATE, platform_initiated=True
                )
        return outcome(
            sub,
            f"subscription {sub.id} is cancelled; account {sub.account_id} is back on Basic",
            expected=SubscriptionStatus.CANCELLED,
        )

    # ------------------------------------------------------------------ shared steps

    def _plan_of(self, request: ServiceRequest) -> Plan:
        """The plan a request names (A.11): the ``ResellerPlan`` code, else the product id (ours,
        a configured one, then the distributor's catalog)."""
        attribute = request.attribute(PLAN_ATTRIBUTE)
        if attribute is not None and attribute.code is not None:
            plan = self.catalog.plan_for_code(attribute.code)
            if plan is not None:
                return plan
        if request.product_id is not None:
            plan = self.catalog.plan_for_product_id(request.product_id)
            if plan is not None:
                return plan
            profile = self.plans.bss.get_distributor(self.distributor_id)
            for known, product_id in profile.plan_products.items():
                if product_id == request.product_id and known.is_subscription:
                    return known
        code = None if attribute is None else attribute.code
        expected = f"{self.catalog.free.id} or {self.catalog.standard.id}"
        raise _UnknownProduct(
            f"ProductID {request.product_id!r} and {PLAN_ATTRIBUTE} code {code!r} name no "
            f"reseller plan; expected the product {expected}: run Get Services Definition "
            "and order one of its products"
        )

    def _subscription_of(self, request: ServiceRequest) -> Subscription:
        """The subscription a call is about: our ``ID``, else the platform's ``SubscriptionID``.

        Raises:
            BadRequest: neither is given.
            NotFound: no subscription has that id (its Create has not reached us).
            Forbidden: it is another distributor's, or another account's than the body says.
        """
        account_id = None if request.account is None else request.account.account_id
        sub: Subscription | None = None
        if request.id is not None:
            sub = self.plans.get(request.id)
        elif request.subscription_id is not None:
            known = self.directory.get_subscription(request.subscription_id)
            if known is not None:
                sub = self.plans.get(known)
            else:
                live = None if account_id is None else self.plans.subscription_of(account_id)
                if live is not None and live.platform_subscription_id == request.subscription_id:
                    sub = live
            if sub is None:
                raise NotFound(
                    f"no subscription for the platform subscription {request.subscription_id!r}:"
                    " its Create has not been processed here; retry once it has"
                )
        else:
            raise BadRequest("ID (the service manager's subscription id) is required")
        self._authorize(sub)
        if account_id is not None and account_id != sub.account_id:
            raise Forbidden(
                f"subscription {sub.id} is account {sub.account_id}'s, not account {account_id}'s"
            )
        return sub

    def _authorize(self, sub: Subscription) -> None:
        if sub.distributor_id != self.distributor_id:
            raise Forbidden(
                f"subscription {sub.id} is not of a reseller of distributor {self.distributor_id}"
            )

    @staticmethod
    def _retry_if_failed(sub: Subscription, kind: OperationKind) -> bool:
        """True when the call repeats an operation whose provisioning failed: retry it."""
        op = sub.operation
        return sub.provisioning_failed and op is not None and op.kind is kind

    def _lifecyclerefusals(self, sub: Subscription, trigger: Trigger, plan: Plan) -> list[str]:
        ctx = Context(at=self.plans.clock.now(), plan=plan, effective_at=sub.term.end)
        try:
            lifecycle.check(sub, trigger, ctx)
        except IllegalTransition as exc:
            return [failure_text("ILLEGAL_STATE", str(exc), state_remedy(sub))]
        return []

    def _precheck_transition(
        self, sub: Subscription, trigger: Trigger, target: SubscriptionStatus
    ) -> Answer:
        if sub.status is target and sub.operation is None:
            return Answer(ResultCode.OK, f"subscription {sub.id} is {target.value} already")
        problems = self._lifecyclerefusals(sub, trigger, sub.plan)
        if problems:
            return Answer(ResultCode.ILLEGAL_STATE, "; ".join(problems))
        return Answer(ResultCode.OK, f"subscription {sub.id} may be {target.value}")


# ---------------------------------------------------------------------- helpers


def _check_only_query(query: str) -> bool:
    try:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, max_num_fields=50)
    except ValueError:
        return False
    return any(
        key.casefold() == "checkonly" and value.strip().lower() in ("true", "1")
        for key, value in pairs
    )


def _account_id(request: ServiceRequest) -> str:
    account = request.account
    account_id = None if account is None else account.account_id
    if account_id is None:
        raise BadRequest("Account.ID (the platform's account id) is required")
    return account_id


def _alias_of(request: ServiceRequest) -> str | None:
    attribute = request.attribute(ALIAS_ATTRIBUTE)
    if attribute is None or attribute.value is None or not attribute.value.strip():
        return None
    return attribute.value


def _short(path: str) -> str:
    return repr(path[:200])
