"""Email delivery against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from builders import write_small_workspace
from compensation_report.cli import cli


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_port():
    return free_port()


def start_server(port: int) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_smtp_mode_delivers_the_report_and_files_the_message_as_sent(tmp_path, smtp_port):
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=smtp_port)
    controller, inbox = start_server(smtp_port)
    try:
        result = invoke("run", "-w", ws, "--period", "2026-10")
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    ((recipients, message),) = inbox.messages
    assert recipients == ["finance@example.com"]
    assert message["Subject"] == "Compensation report 2026-10: net 91,299.08 CNY (2 incidents; largest A Incident A)"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "compensation_report_2026-10.xlsx"
    assert attachment.get_content() == (ws / "reports" / "2026-10" / "compensation_report_2026-10.xlsx").read_bytes()
    assert [p.name for p in (ws / "outbox" / "sent").iterdir()] == ["compensation_report_2026-10.eml"]
    assert list((ws / "outbox").glob("*.eml")) == []


def test_a_failed_delivery_exits_3_keeps_the_email_and_send_delivers_it_later(tmp_path, smtp_port):
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=smtp_port)
    result = invoke("run", "-w", ws, "--period", "2026-10")  # nothing listens on the port yet
    assert result.exit_code == 3
    assert "stays in" in result.output and "Report:" in result.output
    assert [p.name for p in (ws / "outbox").glob("*.eml")] == ["compensation_report_2026-10.eml"]
    controller, inbox = start_server(smtp_port)
    try:
        result = invoke("send", "-w", ws)
    finally:
        controller.stop()
    assert result.exit_code == 0 and "Sent 1 email(s)" in result.output
    assert len(inbox.messages) == 1
    assert list((ws / "outbox").glob("*.eml")) == []
