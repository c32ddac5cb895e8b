"""The ``reseller-plans`` command line: operators' scripts automating upgrades.

Needs the ``cli`` extra (click and rich). Exit status: 0 when everything asked for was done,
1 when some of it failed (a row, an ineligible account, a refused command, something not found,
an unreachable backend), 2 for a usage, input or configuration error (nothing was done), 130 when
interrupted. With ``--json`` every error is a JSON object ``{"error": {"message",
"exit_status"}}`` on standard output. See ``docs/cli.md``.

- :mod:`~reseller_plans.cli.app`: the group and its global options;
- :mod:`~reseller_plans.cli.session`: settings, service, errors and exit statuses;
- :mod:`~reseller_plans.cli.render`: tables, JSON and CSV;
- :mod:`~reseller_plans.cli.bulk_command`: ``upgrade``;
- :mod:`~reseller_plans.cli.subscription_commands`: ``check``, ``status``, the lifecycle actions;
- :mod:`~reseller_plans.cli.list_command`: ``list``;
- :mod:`~reseller_plans.cli.outbox_commands`: ``outbox``, ``resend``;
- :mod:`~reseller_plans.cli.webhook_commands`: ``webhooks``, ``redrive-webhook``,
  ``skip-webhook``;
- :mod:`~reseller_plans.cli.tool_commands`: ``emulator``, ``serve``, ``simulate``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
from rich.console import Console

from reseller_plans.cli import (
    bulk_command,
    list_command,
    outbox_commands,
    subscription_commands,
    tool_commands,
    webhook_commands,
)
from reseller_plans.cli.app import cli
from reseller_plans.cli.session import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, show_error

__all__ = ["cli", "main"]

_COMMANDS = (
    bulk_command,
    list_command,
    outbox_commands,
    subscription_commands,
    tool_commands,
    webhook_commands,
)  # imported to register them


def main(argv: Sequence[str] | None = None) -> int:
    """The console script's entry point.

    Args:
        argv: the arguments (``sys.argv[1:]`` when None).

    Returns:
        The exit status.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args=args, prog_name="reseller-plans", standalone_mode=False)
    except click.ClickException as exc:  # a usage error: JSON too with --json
        if "--json" in args:
            show_error(True, Console(stderr=True), exc.format_message(), EXIT_USAGE)
        else:
            exc.show()
        return exc.exit_code
    except click.Abort:  # Ctrl-C outside a bulk run (which reports its own)
        show_error("--json" in args, Console(stderr=True), "interrupted", EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
