"""Email delivery against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import io
import re
import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from builders import incident, write_small_workspace, write_workbook
from click.testing import CliRunner
from helpers import HEADER_ROW

from compensation_report.cli import cli


class Inbox:
    """What the server received; `refuse` recipients get 550, `drop` hangs up in the middle of DATA."""

    def __init__(self, refuse: tuple[str, ...] = (), drop: bool = False, quit_answer: str = "221 Bye",
                 later: tuple[str, ...] = ()):
        self.messages, self.refuse, self.drop, self.quit_answer = [], refuse, drop, quit_answer
        self.later = later  # recipients told "try later" (450)
        self.logins: list[tuple[str, str, str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        if address in self.later:
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop:
            server.transport.close()  # the connection is lost before the server says it has the message
            return "421 gone"
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        return self.quit_answer

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((mechanism, auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"s3cret pass")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with openssl, and its key."""
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True)
    return folder / "cert.pem", folder / "key.pem"


def server_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_port():
    return free_port()


@contextmanager
def serving(port: int, inbox: Inbox | None = None, **options) -> Iterator[Inbox]:
    """A real SMTP server on loopback for the length of the block; yields what it received."""
    inbox = inbox or Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def received_report(ws, message) -> None:
    """Both bodies, and the attachment byte for byte the report on disk."""
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert attachment.get_content() == (ws / "reports" / "2026-10" / "compensation_report_2026-10.xlsx").read_bytes()


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_smtp_mode_delivers_the_report_and_files_the_message_as_sent(tmp_path, smtp_port):
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=smtp_port)
    with serving(smtp_port) as inbox:
        result = invoke("run", "-w", ws, "--period", "2026-10")
    assert result.exit_code == 0, result.output
    ((recipients, message),) = inbox.messages
    assert recipients == ["finance@example.com"]
    assert message["Subject"] == "Compensation report 2026-10: net 91,299.08 CNY (2 incidents; largest A Incident A)"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "compensation_report_2026-10.xlsx"
    assert attachment.get_content() == (ws / "reports" / "2026-10" / "compensation_report_2026-10.xlsx").read_bytes()
    assert sorted(p.name for p in (ws / "outbox" / "sent").iterdir()) == [  # its previews go with it
        "compensation_report_2026-10.eml", "compensation_report_2026-10.html", "compensation_report_2026-10.txt"]
    assert list((ws / "outbox").glob("*.eml")) == []


def test_a_failed_delivery_exits_3_keeps_the_email_and_send_delivers_it_later(tmp_path, smtp_port):
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=smtp_port)
    result = invoke("run", "-w", ws, "--period", "2026-10")  # nothing listens on the port yet
    assert result.exit_code == 3
    assert "stays in" in result.output and "Report:" in result.output
    assert [p.name for p in (ws / "outbox").glob("*.eml")] == ["compensation_report_2026-10.eml"]
    with serving(smtp_port) as inbox:
        result, again = invoke("send", "-w", ws), invoke("send", "-w", ws)
    assert result.exit_code == 0 and "Sent 1 email(s)" in result.output
    assert again.exit_code == 0 and "Sent 0 email(s)" in again.output
    assert len(inbox.messages) == 1
    assert list((ws / "outbox").glob("*.eml")) == []


def test_no_email_renders_no_message_but_still_writes_each_unit_report(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    config = ws / "compensation.toml"
    config.write_text(config.read_text() + '\n[[email.burst]]\nbusiness_unit = "Payments"\nto = ["lead@example.com"]\n')
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    assert list((ws / "outbox").iterdir()) == []
    reports = sorted(p.name for p in (ws / "reports" / "2026-10").iterdir())
    assert reports[0] == "compensation_report_2026-10.xlsx" and len(reports) == 2  # SPEC 1: + one per burst
    assert re.fullmatch(r"compensation_report_2026-10_Payments_[0-9a-f]{6}\.xlsx", reports[1])


@pytest.mark.parametrize("security, mechanism", [("starttls", "LOGIN"), ("ssl", "PLAIN")])
def test_tls_and_login_with_the_password_from_the_environment(tmp_path, smtp_port, certificate, monkeypatch,
                                                              security, mechanism):
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=smtp_port, smtp=(
        f'security = "{security}"\nusername = "reports"\npassword_env = "REPORT_SMTP_PASSWORD"\n'
        f'ca_file = "{certificate[0]}"\n'))
    monkeypatch.setenv("REPORT_SMTP_PASSWORD", "s3cret pass")
    inbox = Inbox()
    options = dict(authenticator=inbox.authenticate,
                   auth_exclude_mechanism=[m for m in ("LOGIN", "PLAIN") if m != mechanism])
    if security == "starttls":
        options.update(tls_context=server_context(certificate), require_starttls=True)
    else:  # aiosmtpd does not count implicit TLS as TLS for AUTH: the whole connection is encrypted anyway
        options.update(ssl_context=server_context(certificate), auth_require_tls=False)
    with serving(smtp_port, inbox, **options) as _:
        result = invoke("run", "-w", ws, "--period", "2026-10")
    assert result.exit_code == 0, result.output
    assert inbox.logins == [(mechanism, "reports", "s3cret pass")]
    ((recipients, message),) = inbox.messages
    received_report(ws, message)


def test_a_certificate_that_is_not_trusted_is_refused(tmp_path, smtp_port, certificate):
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=smtp_port, smtp='security = "starttls"\n')
    with serving(smtp_port, tls_context=server_context(certificate), require_starttls=True) as inbox:
        result = invoke("run", "-w", ws, "--period", "2026-10")
    assert result.exit_code == 3 and "CERTIFICATE_VERIFY_FAILED" in result.output
    assert inbox.messages == [] and len(list((ws / "outbox").glob("*.eml"))) == 1


@pytest.mark.parametrize("trouble", ["refused", "busy", "dropped"])
def test_each_recipient_gets_the_message_exactly_once_across_failures_and_sends(tmp_path, smtp_port, trouble):
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=smtp_port,
                               to=("finance@example.com", "cfo@example.com"))
    failing = {"refused": Inbox(refuse=("cfo@example.com",)), "busy": Inbox(later=("cfo@example.com",)),
               "dropped": Inbox(drop=True)}[trouble]
    with serving(smtp_port, failing) as _:
        result = invoke("run", "-w", ws, "--period", "2026-10")
    assert result.exit_code == 3 and "stays in" in result.output and "Report:" in result.output
    assert len(list((ws / "outbox").glob("*.eml"))) == 1  # nothing lost
    got_before = [r for recipients, _ in failing.messages for r in recipients]
    assert got_before == (["finance@example.com"] if trouble in ("refused", "busy") else [])

    with serving(smtp_port) as inbox:  # a refusal for good is tried again when asked
        first = invoke("send", "-w", ws, *(["--retry-failed"] if trouble == "refused" else []))
        second = invoke("send", "-w", ws)
    assert (first.exit_code, second.exit_code) == (0, 0) and "Sent 0 email(s)" in second.output
    got_after = [r for recipients, _ in inbox.messages for r in recipients]
    assert sorted(got_before + got_after) == ["cfo@example.com", "finance@example.com"]  # each once
    for _, message in inbox.messages:
        received_report(ws, message)
    assert list((ws / "outbox").glob("*.eml")) == [] and len(list((ws / "outbox" / "sent").glob("*.eml"))) == 1


def test_a_report_too_large_to_attach_is_named_instead(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    config = ws / "compensation.toml"
    config.write_text(config.read_text().replace('mode = "outbox"', 'mode = "outbox"\nmax_attachment_mb = 0.001'))
    assert invoke("run", "-w", ws, "--period", "2026-10").exit_code == 0
    (eml,) = (ws / "outbox").glob("*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert list(message.iter_attachments()) == []
    for body in (message.get_body(("plain",)), message.get_body(("html",))):
        assert "too large to attach" in body.get_content()
        assert "reports/2026-10/compensation_report_2026-10.xlsx" in body.get_content()


def test_the_attachment_size_guard_counts_what_email_really_sends():
    from compensation_report.mail import encoded_size

    for size in (0, 1, 56, 57, 58, 1000, 123_457):
        message = EmailMessage()
        message.add_attachment(b"x" * size, maintype="application", subtype="octet-stream")
        (part,) = message.iter_attachments()
        payload = part.get_payload().replace("\n", "\r\n")  # the base64 lines as they go out, CRLF-ended
        assert encoded_size(size) == len(payload), size


def test_each_business_unit_receives_only_its_own_incidents(tmp_path, smtp_port):
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=smtp_port)
    write_workbook(ws / "inbox" / "logistics.xlsx", {
        "Incidents": [incident("L1", "2026-10-07 09:00", 1, business_unit="物流 Logistics"),
                      incident("L2", "2026-10-08 09:00", 1, business_unit="物流 Logistics")],
        "Losses": [{"incident_id": "L1", "category": "REPAIR", "item": "review"},
                   {"incident_id": "L2", "category": "REPAIR", "item": "review"}]})
    config = ws / "compensation.toml"
    config.write_text(config.read_text()
                      + '\n[[email.burst]]\nbusiness_unit = "Payments"\nto = ["pay-lead@example.com"]\n'
                      '\n[[email.burst]]\nbusiness_unit = "物流 Logistics"\nto = ["log-lead@example.com"]\n')
    with serving(smtp_port) as inbox:
        result = invoke("run", "-w", ws, "--period", "2026-10")
    assert result.exit_code == 0, result.output
    received = {tuple(recipients): message for recipients, message in inbox.messages}
    assert sorted(received) == [("finance@example.com",), ("log-lead@example.com",), ("pay-lead@example.com",)]
    for recipient, expected in [("finance@example.com", ["A", "B", "L1", "L2"]), ("pay-lead@example.com", ["A", "B"]),
                                ("log-lead@example.com", ["L1", "L2"])]:
        (attachment,) = received[(recipient,)].iter_attachments()
        book = openpyxl.load_workbook(io.BytesIO(attachment.get_content()))
        ids = [row[0] for row in book["Incidents"].iter_rows(min_row=HEADER_ROW + 1, values_only=True)]
        lines = {row[0] for row in book["Lines"].iter_rows(min_row=HEADER_ROW + 1, values_only=True)}
        assert sorted(ids) == expected and lines <= set(expected), recipient
    assert "物流 Logistics" in received[("log-lead@example.com",)]["Subject"]
    (unit_file,) = [a.get_filename() for a in received[("log-lead@example.com",)].iter_attachments()]
    assert re.fullmatch(r"compensation_report_2026-10_物流_Logistics_[0-9a-f]{6}\.xlsx", unit_file)


def test_a_dry_run_writes_every_message_to_preview_and_sends_none(tmp_path, smtp_port):
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=smtp_port)
    with serving(smtp_port) as inbox:
        result = invoke("run", "-w", ws, "--period", "2026-10", "--dry-run")
        assert result.exit_code == 0, result.output
        assert inbox.messages == [] and len(list((ws / "outbox").glob("*.eml"))) == 1
        assert invoke("send", "-w", ws).exit_code == 0  # what finance previewed goes out as it is
    assert len(inbox.messages) == 1


@pytest.mark.parametrize("locale, subject, words", [
    ("en", "Compensation report 2026-10: net 91,299.08 CNY", ["By category", "Downtime loss", "Largest incidents"]),
    ("zh-CN", "2026-10 赔偿报告：净额 91,299.08 CNY", ["按类别", "停工损失", "净额最高的事故"]),
])
def test_the_email_speaks_the_report_locale_with_figures_categories_and_largest_incidents(tmp_path, locale, subject,
                                                                                           words):
    ws = write_small_workspace(tmp_path / "ws")
    assert invoke("run", "-w", ws, "--period", "2026-10", "--locale", locale).exit_code == 0
    (eml,) = (ws / "outbox").glob("*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["Subject"].startswith(subject)
    text, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
    for body in (text, html):
        assert all(word in body for word in words) and "91,299.08" in body
    assert "<style" not in html and "<link" not in html and "src=" not in html  # inline styles, no outside images


def test_a_message_the_server_took_is_not_sent_again_when_quit_goes_wrong(tmp_path, smtp_port):
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=smtp_port)
    with serving(smtp_port, Inbox(quit_answer="451 4.3.0 try again later")) as inbox:
        result, again = invoke("run", "-w", ws, "--period", "2026-10"), invoke("send", "-w", ws)
    assert result.exit_code == 0 and again.exit_code == 0, result.output
    assert len(inbox.messages) == 1


def test_a_preview_is_superseded_by_the_run_that_sends(tmp_path, smtp_port):
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=smtp_port)
    with serving(smtp_port) as inbox:
        assert invoke("run", "-w", ws, "--period", "2026-10", "--dry-run").exit_code == 0
        assert invoke("run", "-w", ws, "--period", "2026-10").exit_code == 0
        assert invoke("send", "-w", ws).exit_code == 0
    assert len(inbox.messages) == 1  # the month's report, once
    assert len(list((ws / "outbox" / "superseded").glob("*.eml"))) == 1  # the preview, kept, not sent


def test_attempts_must_be_a_whole_number_of_one_or_more(tmp_path):
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", smtp="attempts = 0.5\n")
    result = invoke("run", "-w", ws, "--period", "2026-10")
    assert result.exit_code == 2 and "attempts must be a whole number of 1 or more" in result.output


def test_an_address_written_twice_in_different_case_gets_one_message(tmp_path, smtp_port):
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=smtp_port,
                               to=("Finance@example.com", "finance@example.com"))
    with serving(smtp_port) as inbox:
        assert invoke("run", "-w", ws, "--period", "2026-10").exit_code == 0
    assert [recipients for recipients, _ in inbox.messages] == [["Finance@example.com"]]


def test_a_recipient_refused_for_good_fails_once_shows_in_status_and_is_retried_when_asked(tmp_path, smtp_port):
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=smtp_port,
                               to=("finance@example.com", "gone@example.com"))
    with serving(smtp_port, Inbox(refuse=("gone@example.com",))) as inbox:
        run = invoke("run", "-w", ws, "--period", "2026-10")
        assert run.exit_code == 3
        assert "gone@example.com: 550 5.1.1 no such mailbox here (refused for good" in run.output
        again = invoke("send", "-w", ws)
        assert again.exit_code == 0 and "Sent 0 email(s)" in again.output  # not tried again, not said again
    assert [r for recipients, _ in inbox.messages for r in recipients] == ["finance@example.com"]
    status = invoke("status", "-w", ws).output
    assert "Refused for good by the mail server: 1" in status
    assert "compensation_report_2026-10.eml to gone@example.com on " in status and "550 5.1.1" in status
    with serving(smtp_port) as fixed:
        retried = invoke("send", "-w", ws, "--retry-failed")
    assert retried.exit_code == 0 and "Sent 1 email(s)" in retried.output
    assert [r for recipients, _ in fixed.messages for r in recipients] == ["gone@example.com"]
    assert "Refused for good by the mail server: 0" in invoke("status", "-w", ws).output


@pytest.mark.parametrize("locale, words", [("en", "Compensation report"), ("zh-CN", "赔偿报告")])
def test_each_email_has_readable_previews_of_its_bodies_beside_it(tmp_path, locale, words):
    ws = write_small_workspace(tmp_path / "ws")
    assert invoke("run", "-w", ws, "--period", "2026-10", "--locale", locale).exit_code == 0
    (eml,) = (ws / "outbox").glob("*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    text = eml.with_suffix(".txt").read_text(encoding="utf-8")
    html = eml.with_suffix(".html").read_text(encoding="utf-8")
    def body(kind: str) -> str:  # the email's lines end in CRLF on the wire; the files in the system's way
        return message.get_body((kind,)).get_content().replace("\r\n", "\n")

    assert text == body("plain") and words in text  # as a reader sees it
    assert html == body("html") and "<html" in html.lower()
