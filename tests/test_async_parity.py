"""The async twins have the public API of the sync ones: the same methods, parameters, defaults
and return types, as Anthropic's SDK tests its clients. Coroutine (or async generator) against
function (or generator) is the only difference allowed, and the async ones are generated from
the sync ones by ``scripts/unasync_adapters.py``, which must have been run since the last edit."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from reseller_plans.bss import AsyncBSSClient, BSSClient
from reseller_plans.bss.oauth import AsyncPasswordGrant, PasswordGrant
from reseller_plans.http import ApiKeyAuth, AsyncApiKeyAuth, AsyncBackendClient, BackendClient
from reseller_plans.storefront import AsyncStorefrontClient, StorefrontClient

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "unasync_adapters.py"
TWINS = [
    (BSSClient, AsyncBSSClient),
    (StorefrontClient, AsyncStorefrontClient),
    (BackendClient, AsyncBackendClient),
    (PasswordGrant, AsyncPasswordGrant),
    (ApiKeyAuth, AsyncApiKeyAuth),
]
# What an annotation of the async twin says where the sync one names its sync counterpart.
SYNC_OF = {
    "AsyncIterator": "Iterator",
    "httpx.AsyncClient": "httpx.Client",
    "httpx.AsyncBaseTransport": "httpx.BaseTransport",
    "AsyncAuthenticator": "Authenticator",
    "AsyncBackendClient": "BackendClient",
    "AsyncBSSClient": "BSSClient",
    "AsyncStorefrontClient": "StorefrontClient",
}


def _sync_spelling(annotation: Any) -> str:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    for twin, sync in SYNC_OF.items():
        text = re.sub(rf"(?<![\w.]){re.escape(twin)}(?!\w)", sync, text)
    return text


def _public(cls: type) -> dict[str, Any]:
    """Public methods and properties, the constructor among them, inherited ones included."""
    found = {"__init__": cls.__init__}
    for name in dir(cls):
        if not name.startswith("_"):
            found[name] = inspect.getattr_static(cls, name)
    return found


def _kind(member: Any) -> str:
    if isinstance(member, property):
        return "property"
    if inspect.isgeneratorfunction(member) or inspect.isasyncgenfunction(member):
        return "iterator"
    if inspect.isfunction(member) or inspect.iscoroutinefunction(member):
        return "function"
    return type(member).__name__


def _shape(member: Any) -> Any:
    """What must be equal in both twins: parameters with kinds and defaults, annotations."""
    if isinstance(member, property):
        assert member.fget is not None
        return _sync_spelling(inspect.signature(member.fget).return_annotation)
    signature = inspect.signature(member)
    return (
        [(p.name, p.kind, p.default, _sync_spelling(p.annotation))
         for p in signature.parameters.values()],
        _sync_spelling(signature.return_annotation),
    )  # fmt: skip


def differences(sync: type, twin: type) -> list[str]:
    """Every way the public API of ``twin`` differs from ``sync``'s (empty: twins)."""
    ours, theirs = _public(sync), _public(twin)
    found = [f"only {sync.__name__} has {name}" for name in sorted(set(ours) - set(theirs))]
    found += [f"only {twin.__name__} has {name}" for name in sorted(set(theirs) - set(ours))]
    for name in sorted(set(ours) & set(theirs)):
        plain, awaited = ours[name], theirs[name]
        if _kind(plain) != _kind(awaited):
            found.append(f"{name}: a {_kind(plain)} in one, a {_kind(awaited)} in the other")
            continue
        if inspect.iscoroutinefunction(plain) or inspect.isasyncgenfunction(plain):
            found.append(f"{sync.__name__}.{name} is async")
        if _shape(plain) != _shape(awaited):
            found.append(f"{name}: {_shape(plain)} != {_shape(awaited)}")
    return found


@pytest.mark.parametrize(("sync", "twin"), TWINS, ids=[twin.__name__ for _, twin in TWINS])
def test_the_async_twin_has_the_public_api_of_the_sync_one(sync: type, twin: type) -> None:
    assert differences(sync, twin) == []


@pytest.mark.parametrize(("sync", "twin"), TWINS[:2], ids=["AsyncBSSClient", "AsyncStorefront"])
def test_every_call_of_an_async_adapter_is_awaited(sync: type, twin: type) -> None:
    for name, member in _public(twin).items():
        if name in ("__init__",) or isinstance(member, property):
            continue
        assert inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member), name
        assert not inspect.iscoroutinefunction(_public(sync)[name]), name


class _Sync:
    def get(self, key: str, *, timeout: float = 1.0) -> Iterator[str]:
        yield key

    def put(self, key: str) -> None: ...


class _Drifted:
    async def get(self, key: str, *, timeout: float = 2.0) -> Iterator[str]:  # another default
        raise NotImplementedError

    def put(self, key: str, value: str = "") -> None: ...  # another parameter, not awaited

    async def extra(self) -> None: ...


def test_the_parity_check_names_each_drift() -> None:
    found = differences(_Sync, _Drifted)
    assert found[0] == "only _Drifted has extra"
    assert any(line.startswith("get: a iterator in one, a function") for line in found)
    assert any(line.startswith("put: ") and "'value'" in line for line in found)


@pytest.fixture(scope="module")
def unasync() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unasync_adapters", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_async_adapters_are_what_the_script_generates_now(
    unasync: ModuleType,
) -> None:
    assert unasync.stale() == [], "an async adapter is stale: run scripts/unasync_adapters.py"


def test_the_generator_awaits_every_call_and_names_the_async_twins(unasync: ModuleType) -> None:
    source = ROOT / "src" / "reseller_plans" / "storefront" / "client.py"
    rendered = unasync.render(source)
    assert "self.backend.run(" not in rendered.replace("await self.backend.run(", "")
    assert "class AsyncStorefrontClient(AsyncBackendAdapter):" in rendered
    assert "httpx.AsyncClient | None" in rendered
    assert "do not edit it" in rendered


class _Unasync(ast.NodeTransformer):
    """An async function as its sync twin: no ``await``, ``def`` for ``async def``, and the
    async names of :data:`DRIVER_NAMES` as the sync ones."""

    def visit_Await(self, node: ast.Await) -> ast.AST:
        return self.visit(node.value)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        self.generic_visit(node)
        return ast.FunctionDef(**{field: getattr(node, field) for field in node._fields})

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        node.attr = DRIVER_NAMES.get(node.attr, node.attr)
        return node


DRIVER_NAMES = {"async_sleep": "sleep"}


def _code_of(function: Any, *, unasync: bool = False) -> str:
    """The function's code without its docstring and comments, as ``ast.dump`` shows it."""
    node = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    if ast.get_docstring(node) is not None:
        node.body = node.body[1:]
    if unasync:
        node = _Unasync().visit(node)
    return ast.dump(node, include_attributes=False)


@pytest.mark.parametrize("name", ["_drive", "run", "send", "request", "get_payload"])
def test_the_two_backend_drivers_are_one_driver_but_for_await(name: str) -> None:
    # Written by hand (a few lines each), so checked here: the async driver is the sync one
    # with every step awaited, and the async wait for the sync one.
    sync = _code_of(getattr(BackendClient, name))
    assert _code_of(getattr(AsyncBackendClient, name), unasync=True) == sync
