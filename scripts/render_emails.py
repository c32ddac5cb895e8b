"""Render every email with a fixed sample context into ``docs/emails/<name>.txt``.

Each file holds the subject on its first line, a blank line, then the plain-text part. A message
with a template per plan gets one file per plan (``welcome_free.txt``, ``welcome_standard.txt``).
Run it after changing a template; ``tests/test_mail_docs.py`` fails while the files are stale::

    python scripts/render_emails.py          # rewrite the files
    python scripts/render_emails.py --check  # exit 1 when a file is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reseller_plans.domain.messages import MessageKind
from reseller_plans.mail import Templates

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "emails"

SAMPLE_CONTEXT: dict[str, str] = {
    "reseller_name": "TechSolutions Ltd",
    "distributor_name": "Disti Cloud",
    "account_id": "ACC-1042",
    "subscription_id": "SUB-7731",
    "plan": "standard",
    "old_plan": "standard",
    "new_plan": "free",
    "alias": "techsolutions",
    "storefront_url": "https://cloud.disti.example/techsolutions",
    "distributor_storefront_url": "https://cloud.disti.example",
    "effective_at": "2025-07-01T00:00:00+00:00",
    "alias_held_until": "2025-07-31T00:00:00+00:00",
    "reason": "the Storefront API answered 503 three times",
}
"""The facts every sample is rendered with (``plan`` is replaced per plan where it matters)."""

SAMPLE_OVERRIDES: dict[MessageKind, dict[str, str]] = {
    MessageKind.SUSPENDED: {"reason": "non-payment"},
}
"""Facts that differ for one kind (a suspension's reason is not a provisioning failure's)."""


def rendered_emails(templates: Templates | None = None) -> dict[str, str]:
    """Every sample file, by file name, as its text."""
    templates = templates or Templates()
    files = {}
    for kind in MessageKind:
        plans = templates.plan_variants(kind)
        variants = [(f"{kind.value}_{plan.value}", plan.value) for plan in plans] or [
            (kind.value, SAMPLE_CONTEXT["plan"])
        ]
        for name, plan in variants:
            context = {**SAMPLE_CONTEXT, **SAMPLE_OVERRIDES.get(kind, {}), "plan": plan}
            rendered = templates.render(kind, context)
            files[f"{name}.txt"] = f"Subject: {rendered.subject}\n\n{rendered.text}"
    return files


def stale_files(output: Path = OUTPUT) -> list[str]:
    """The names of the files that are missing, differ, or are left over from an old run."""
    expected = rendered_emails()
    stale = [
        name
        for name, text in expected.items()
        if not (output / name).is_file() or (output / name).read_text(encoding="utf-8") != text
    ]
    leftovers = [p.name for p in output.glob("*.txt") if p.name not in expected]
    return sorted(stale + leftovers)


def main(argv: list[str] | None = None) -> int:
    """Write the files (or only check them with ``--check``); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for name in stale:
            print(f"stale: docs/emails/{name}", file=sys.stderr)
        return 1 if stale else 0
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for leftover in OUTPUT.glob("*.txt"):
        leftover.unlink()
    for name, text in rendered_emails().items():
        (OUTPUT / name).write_text(text, encoding="utf-8")
        print(f"wrote docs/emails/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
