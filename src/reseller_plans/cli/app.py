"""The ``reseller-plans`` group: its global options, and the options every command shares."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from rich.console import Console

from reseller_plans.cli.session import Session, configure_logging

__all__ = ["PLAN_CHOICE", "cli", "json_option", "pass_session"]

PLAN_CHOICE = click.Choice(["free", "standard"], case_sensitive=False)

TABLE_WIDTH = 100
"""Columns the tables take when standard output is not a terminal (a pipe, a file, a test)."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), help="A TOML settings file."
)
@click.option("--bss-url", help="The BSS base URL (or RESELLER_PLANS_BSS_URL).")
@click.option("--storefront-url", help="The Storefront API base URL (default: the BSS URL).")
@click.option("--distributor", help="The distributor you act as (or RESELLER_PLANS_DISTRIBUTOR).")
@click.option("--store", help="The SQLite file that keeps state (or RESELLER_PLANS_STORE).")
@click.option("--client-id", help="The BSS API client key (or RESELLER_PLANS_CLIENT_ID).")
@click.option("--username", help="The BSS application user (or RESELLER_PLANS_USERNAME).")
@click.option("--json", "json_output", is_flag=True, help="Print JSON instead of tables.")
@click.option(
    "-v", "--verbose", count=True, help="Show the library's log: -v info, -vv debug (stderr)."
)
@click.version_option(package_name="reseller-plans")
@click.pass_context
def cli(
    ctx: click.Context, /, config_file: str | None, json_output: bool, verbose: int, **flags: Any
) -> None:
    """Upgrade resellers to the Free or Standard plan, and manage their subscriptions.

    Secrets (client secret, password, Storefront API key, SMTP password) are read only from
    the environment or the --config file.
    """
    overrides = {name.replace("-", "_"): value for name, value in flags.items()}
    width = None if sys.stdout.isatty() else (_columns() or TABLE_WIDTH)
    err = Console(stderr=True, width=None if sys.stderr.isatty() else (_columns() or TABLE_WIDTH))
    configure_logging(verbose, err)
    session = Session(config_file, overrides, json_output, Console(width=width), err, verbose)
    ctx.obj = session
    ctx.call_on_close(session.close)


pass_session = click.pass_obj


def _columns() -> int:
    try:
        return int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        return 0


def _json_here(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_object(Session).json_output = True  # type: ignore[union-attr]


json_option = click.option(
    "--json", is_flag=True, expose_value=False, callback=_json_here,
    help="Print JSON instead of tables.",
)  # fmt: skip
"""``--json`` after the command too (``reseller-plans status 3542 --json``)."""
