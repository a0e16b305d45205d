"""The docs say what the code does: the column reference is the schema's, every configuration key
is documented, and every command and option explains itself in --help."""

from __future__ import annotations

import re
from pathlib import Path

import click
from click.testing import CliRunner

from compensation_report import workspace
from compensation_report.cli import cli
from compensation_report.reference import columns_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_column_reference_is_what_the_schema_says():
    assert (DOCS / "columns.md").read_text(encoding="utf-8") == columns_markdown(), \
        "docs/columns.md is out of date: run `make docs` and commit it"


def test_every_configuration_key_the_code_reads_is_documented():
    source = Path(workspace.__file__).read_text(encoding="utf-8")
    keys = set(re.findall(r'\.get\("(\w+)"', source))
    keys |= set(re.findall(r'_(?:positive|whole)\(path, \w+, "(\w+)"', source))
    keys |= set(re.findall(r'smtp\["(\w+)"\]', source))
    assert {"rates", "locale", "large_loss", "settle_seconds", "mode", "to", "host", "password_env", "ca_file",
            "max_attachment_mb", "business_unit"} <= keys  # the search finds them
    text = (DOCS / "formats.md").read_text(encoding="utf-8")
    section = text[text.index("## Configuration"):text.index("\n## ", text.index("## Configuration") + 1)]
    code_spans = re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", section, flags=re.S))
    documented = set(re.findall(r"\w+", " ".join(code_spans)))  # named as code, not merely as a word
    missing = sorted(keys - documented)
    assert missing == [], f"configuration keys read by workspace.py but not named under Configuration: {missing}"


def test_every_command_and_option_explains_itself_in_help():
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0
    for name, command in cli.commands.items():
        assert name in top.output and command.help, name
        shown = runner.invoke(cli, [name, "--help"])
        assert shown.exit_code == 0 and " ".join(command.help.split()) in " ".join(shown.output.split())
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts} has no help"
                assert param.opts[-1] in shown.output
    assert {"init", "run", "validate", "template", "send"} <= set(cli.commands)
    assert all(param.help for param in cli.params if isinstance(param, click.Option))  # --verbose
