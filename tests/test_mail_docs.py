"""The email docs stay true: generated samples are fresh, examples run, tables match the code."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

import reseller_plans.mail
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan
from reseller_plans.mail import Templates

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "emails"
README = DOCS / "README.md"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "render_emails", ROOT / "scripts" / "render_emails.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_email_samples_are_up_to_date() -> None:
    script = load_script()

    expected = script.rendered_emails()

    on_disk = {p.name: p.read_text(encoding="utf-8") for p in DOCS.glob("*.txt")}
    assert on_disk == expected, "docs/emails is stale: run python scripts/render_emails.py"


def test_samples_cover_every_kind_and_both_welcome_variants() -> None:
    names = set(load_script().rendered_emails())

    assert {"welcome_free.txt", "welcome_standard.txt"} <= names
    for kind in MessageKind:
        assert any(name.startswith(kind.value) for name in names), kind


def test_stale_files_names_a_changed_and_a_leftover_file(tmp_path: Path) -> None:
    script = load_script()
    for name, text in script.rendered_emails().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "resumed.txt").write_text("old", encoding="utf-8")
    (tmp_path / "gone.txt").write_text("old", encoding="utf-8")

    assert script.stale_files(tmp_path) == ["gone.txt", "resumed.txt"]


@pytest.mark.parametrize(
    "block",
    re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL),
)
def test_readme_examples_run(block: str) -> None:
    exec(compile(block, str(README), "exec"), {})  # noqa: S102 - our own documentation


def test_readme_required_keys_table_matches_the_templates() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("| kind | required keys", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `(\w+)`(?: \((\w+)\))? \| (.*) \|$", section, flags=re.MULTILINE)
    templates = Templates()

    documented = {
        (MessageKind[kind], Plan.parse(plan) if plan else None): set(re.findall(r"`(\w+)`", keys))
        | {"reseller_name", "distributor_name"}
        for kind, plan, keys in rows
    }

    expected = {
        (kind, plan): set(templates.required_keys(kind, plan))
        for kind in MessageKind
        for plan in (templates.plan_variants(kind) or (None,))
    }
    assert documented == expected


def test_public_names_of_the_mail_package() -> None:
    assert set(reseller_plans.mail.__all__) == {
        "Templates",
        "TemplateSet",
        "TemplateKey",
        "RenderedMessage",
        "CONTEXT_KEYS",
        "DERIVED_KEYS",
        "SMTPMailer",
        "SMTPSecurity",
        "message_id_header",
        "ConsoleMailer",
        "AsyncMailer",
        "ThreadedMailer",
    }
    for name in reseller_plans.mail.__all__:
        assert hasattr(reseller_plans.mail, name)
