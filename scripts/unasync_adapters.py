"""Generate the async adapters from the sync ones, as httpcore generates its twins (unasync).

``AsyncBSSClient`` and ``AsyncStorefrontClient`` are the sync clients with every call awaited:
the same methods, parameters, defaults and docstrings, performing the same sans-IO calls
(``bss/calls.py``, ``storefront/calls.py``) on an ``AsyncBackendClient``. Writing them by hand
would let the twins drift; generating them cannot. The committed files must be what this script
renders now (``tests/test_async_adapters_generated.py`` checks it, so ``make test`` fails on a
stale twin).

The rules, applied to the sync module after its docstring:

- a method that performs a call (``self.backend.run(``/``self.backend.send(``) becomes
  ``async def``, and the call is awaited (a method that yields becomes an async generator);
- the names of :data:`RENAMES` become their async twins (``BackendClient`` →
  ``AsyncBackendClient``, ``httpx.Client`` → ``httpx.AsyncClient``, ``Iterator`` →
  ``AsyncIterator``, …), and so do the phrases of :data:`PHRASES`;
- ``__all__`` names the async client only, and the module docstring says where it comes from.

The result is sorted and formatted by ruff, as every module is.

Usage::

    python scripts/unasync_adapters.py           # rewrite the async adapters
    python scripts/unasync_adapters.py --check   # exit 1 when one is out of date
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "reseller_plans"
# sync module → (its async twin, the sync class)
TWINS = {
    PACKAGE / "bss" / "client.py": (PACKAGE / "bss" / "async_client.py", "BSSClient"),
    PACKAGE / "storefront" / "client.py": (
        PACKAGE / "storefront" / "async_client.py",
        "StorefrontClient",
    ),
}
RENAMES = {
    "BSSClient": "AsyncBSSClient",
    "StorefrontClient": "AsyncStorefrontClient",
    "BackendAdapter": "AsyncBackendAdapter",
    "BackendClient": "AsyncBackendClient",
    "PasswordGrant": "AsyncPasswordGrant",
    "ApiKeyAuth": "AsyncApiKeyAuth",
    "Iterator": "AsyncIterator",
    "httpx.Client": "httpx.AsyncClient",
    "httpx.BaseTransport": "httpx.AsyncBaseTransport",
    "reseller_plans.http.client": "reseller_plans.http.async_client",
}
PHRASES = {
    "Use it as a context manager, or call :meth:`close`, to close its connections.": (
        "Use it in an ``async with`` block, or ``await`` :meth:`close`, to close its connections."
    ),
    "port over HTTP.\n": "port over HTTP, for asyncio: every call is awaited.\n",
}
CALLS = re.compile(r"(?<!await )self\.backend\.(run|send)\(")
HEADER = '''"""``{async_name}``, the async twin of ``{name}`` (generated).

Generated from ``{source}``
by ``scripts/unasync_adapters.py``: do not edit it; edit the sync client and run the script.
The same methods, parameters, defaults, return types and errors as the sync client, performing
the same sans-IO calls on an
:class:`~reseller_plans.http.async_client.AsyncBackendClient` (``httpx.AsyncClient``): only the
send and the sleep differ.
"""
'''


def _async_methods(tree: ast.Module, text: str) -> set[int]:
    """The first lines of the methods that perform a call."""
    lines = text.splitlines()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            body = "\n".join(lines[node.lineno - 1 : node.end_lineno])
            if CALLS.search(body):
                found.add(node.lineno)
    return found


def _rename(line: str) -> str:
    for sync, twin in RENAMES.items():
        line = re.sub(rf"(?<![\w.]){re.escape(sync)}(?!\w)", twin, line)
    return line


def render(source: Path) -> str:
    """The async twin of one sync adapter module, formatted."""
    target, name = TWINS[source]
    text = source.read_text(encoding="utf-8")
    tree = ast.parse(text)
    docstring = tree.body[0]
    assert isinstance(docstring, ast.Expr)  # noqa: S101 - every module has a docstring
    body_start = docstring.end_lineno or 0
    to_async = _async_methods(tree, text)
    out: list[str] = []
    for number, sync_line in enumerate(text.splitlines(), start=1):
        if number <= body_start:
            continue
        line = sync_line.replace("def ", "async def ", 1) if number in to_async else sync_line
        line = CALLS.sub(lambda m: f"await self.backend.{m.group(1)}(", line)
        if line.startswith("__all__ = "):
            line = f'__all__ = ["{RENAMES[name]}"]'
        out.append(_rename(line))
    rendered = HEADER.format(
        async_name=RENAMES[name], name=name,
        source=str(source.relative_to(PACKAGE.parent.parent)),
    ) + "\n".join(out) + "\n"  # fmt: skip
    for sync, twin in PHRASES.items():
        rendered = rendered.replace(sync, twin)
    return _ruff(rendered, target)


def _ruff(text: str, target: Path) -> str:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    name = str(target.relative_to(ROOT))
    for command in (
        [ruff, "check", "--select", "I,F401", "--fix", "--quiet", "--stdin-filename", name, "-"],
        [ruff, "format", "--quiet", "--stdin-filename", name, "-"],
    ):
        text = subprocess.run(  # noqa: S603 - our ruff, a fixed command
            command, input=text, capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout
    return text


def stale() -> list[Path]:
    """The async modules that differ from what :func:`render` gives now."""
    return [
        target
        for source, (target, _name) in TWINS.items()
        if not target.exists() or target.read_text(encoding="utf-8") != render(source)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a twin is stale")
    check = parser.parse_args().check
    if check:
        out_of_date = stale()
        for target in out_of_date:
            print(f"{target.relative_to(ROOT)} is stale: run python scripts/unasync_adapters.py")
        return 1 if out_of_date else 0
    for source, (target, _name) in TWINS.items():
        target.write_text(render(source), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
