"""Email: Jinja2 templates → EmailMessage → outbox/*.eml; SMTP delivery moves them to outbox/sent/."""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from pathlib import Path

from compensation_report.errors import DeliveryError
from compensation_report.ledger import Ledger
from compensation_report.resources import data_path
from compensation_report.workspace import EmailConfig, SmtpConfig, free_name

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def render_report_email(config: EmailConfig, context: dict, attachment: Path, sent_at: datetime,
                        to: tuple[str, ...], locale: str = "en") -> EmailMessage:
    """The report email, from the locale's templates. A report whose attachment would pass [email]
    max_attachment_mb once encoded is not attached; the bodies say where it is instead."""
    env = _environment(config.templates)
    content = attachment.read_bytes()
    attached = encoded_size(len(content)) <= config.max_attachment_mb * 1_000_000
    context = {**context, "attached": attached, "attachment_mb": f"{len(content) / 1_000_000:.1f}",
               "attachment": attachment.name}
    message = EmailMessage()
    message["Subject"] = " ".join(_render(env, "subject", locale, context).split())  # one line: no header injected
    message["From"] = config.sender
    message["To"] = ", ".join(to)
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(domain=parseaddr(config.sender)[1].rpartition("@")[2] or None)
    message.set_content(_render(env, "txt", locale, context))
    message.add_alternative(_render(env, "html", locale, context), subtype="html")
    if attached:
        message.add_attachment(content, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=attachment.name)
    return message


def _render(env, kind: str, locale: str, context: dict) -> str:
    """report.zh-CN.<kind>.j2 for Chinese, else report.<kind>.j2; a templates folder overrides either by name."""
    from jinja2 import TemplateError

    names = ([f"report.{locale}.{kind}.j2"] if locale != "en" else []) + [f"report.{kind}.j2"]
    try:
        return env.select_template(names).render(context)
    except TemplateError as exc:  # most likely a template of the workspace's own: the report is written
        raise DeliveryError(f"the email template {' or '.join(names)} failed: {exc}; no email was written") from exc


def encoded_size(size: int) -> int:
    """Bytes of `size` bytes in base64 as email sends it: 4 characters per 3 bytes, CRLF after 76."""
    characters = 4 * -(-size // 3)
    return characters + 2 * -(-characters // 76)


def _environment(override: Path | None):
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape  # only a run that mails

    folders = [str(override)] if override else []
    folders.append(str(data_path("templates")))
    return Environment(loader=FileSystemLoader(folders), undefined=StrictUndefined,
                       autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                       keep_trailing_newline=True)


def write_outbox(message: EmailMessage, outbox: Path, name: str) -> Path:
    """Written to a temp name and renamed, so `send` never picks up half a message. A message still
    waiting under the same name (a dry run's preview, a run whose delivery failed) is superseded: it
    moves to outbox/superseded/ and is not sent, so nobody gets the same month's report twice."""
    outbox.mkdir(parents=True, exist_ok=True)
    target = outbox / name
    if target.exists():
        move_message(target, outbox / "superseded")
    for preview, text in _previews(message, target).items():
        _write_whole(preview, text.encode("utf-8"))
    _write_whole(target, message.as_bytes(policy=policy.SMTP))
    return target


def _previews(message: EmailMessage, target: Path) -> dict[Path, str]:
    """The bodies as plain files beside the .eml (whose text is quoted-printable or base64 inside):
    what the email says, readable in any editor or browser before it goes."""
    found = {}
    for kind, suffix in (("plain", ".txt"), ("html", ".html")):
        body = message.get_body((kind,))
        if isinstance(body, EmailMessage):
            found[target.with_suffix(suffix)] = body.get_content()
    return found


def _write_whole(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def move_message(path: Path, folder: Path) -> Path:
    """An .eml moved into folder (sent/, superseded/), its previews with it, never over another file."""
    folder.mkdir(exist_ok=True)
    target = free_name(folder, path.name)
    for suffix in (".txt", ".html"):
        if path.with_suffix(suffix).exists():
            os.replace(path.with_suffix(suffix), target.with_suffix(suffix))
    os.replace(path, target)
    return target


def pending(outbox: Path) -> list[Path]:
    return sorted(outbox.glob("*.eml")) if outbox.is_dir() else []


def deliver(outbox: Path, smtp: SmtpConfig, ledger: Ledger) -> list[Path]:
    """Send every .eml waiting in outbox/, once to each recipient: the ledger records who has each
    message, so a re-run or `send` never sends anyone a message twice. A message moves to
    outbox/sent/ when every recipient has it; DeliveryError (exit 3) names those not reached. A
    recipient the server refuses for good (5xx) is recorded as failed and said once: the message
    stays in outbox/ for `send --retry-failed`. When the server cannot be reached, the messages after
    it are left for the next try."""
    sent, failures = [], []
    for path in pending(outbox):
        content = path.read_bytes()
        message = BytesParser(policy=policy.default).parsebytes(content)
        message_id = str(message["Message-ID"] or f"<{hashlib.sha256(content).hexdigest()}@outbox>")
        ledger.expect_delivery(message_id, path.name, recipients_of(message))
        waiting = ledger.waiting_recipients(message_id)
        if not waiting and ledger.has_failed(message_id):
            continue  # said when it failed; `send --retry-failed` tries again
        refused, unreachable = _deliver_with_retries(message, waiting, smtp) if waiting else ({}, False)
        now = datetime.now(UTC)
        ledger.delivered(message_id, [r for r in waiting if r not in refused], now)
        for refusal in set(refused.values()):
            who = [r for r, why in refused.items() if why == refusal]
            ledger.not_delivered(message_id, who, refusal.reason, now, for_good=refusal.for_good)
            failures.append(f"{path.name} to {', '.join(who)}: {refusal.reason}"
                            + (" (refused for good: 'send --retry-failed' tries again)" if refusal.for_good else ""))
        if not refused:
            ledger.message_sent(message_id)
            sent.append(move_message(path, outbox / "sent"))
        if unreachable:
            break
    if failures:
        raise DeliveryError(f"could not send through {smtp.host}:{smtp.port}: {'; '.join(failures)}; "
                            f"it stays in {outbox} for 'compensation-report send'")
    return sent


def recipients_of(message: EmailMessage) -> list[str]:
    """Every address once, as first written: Finance@example.com and finance@example.com are one mailbox."""
    fields = [str(value) for name in ("To", "Cc", "Bcc") for value in message.get_all(name, [])]
    first: dict[str, str] = {}
    for _, address in getaddresses(fields):
        if address:
            first.setdefault(address.casefold(), address)
    return list(first.values())


@dataclass(frozen=True)
class Refusal:
    """Why the server did not take a message for a recipient; `for_good` when it refused the
    recipient or the message itself permanently (a 5xx reply to RCPT or DATA): trying again as it is
    cannot help. A refusal of our login, our sender address or our certificate is the workspace's
    configuration instead: it keeps waiting for the configuration to be fixed."""

    reason: str
    for_good: bool = False


def _deliver_with_retries(message: EmailMessage, recipients: list[str],
                          smtp: SmtpConfig) -> tuple[dict[str, Refusal], bool]:
    """The recipients the server did not take, with its reason, and whether the server could not be
    reached at all. A server that is down, drops the connection before taking the message or answers
    "try later" (4xx) is tried again, waiting longer each time."""
    for attempt in range(smtp.attempts):
        try:
            return _deliver_once(message, recipients, smtp), False
        except (OSError, smtplib.SMTPException) as exc:
            if _permanent(exc) or attempt == smtp.attempts - 1:
                refusal = Refusal(_reason(exc), isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500)
                return dict.fromkeys(recipients, refusal), not isinstance(exc, smtplib.SMTPResponseException)
            time.sleep(smtp.retry_seconds * 2 ** attempt)
    raise AssertionError("attempts is at least 1 (load_config checks it)")


def _deliver_once(message: EmailMessage, recipients: list[str], smtp: SmtpConfig) -> dict[str, Refusal]:
    """One try. Once the server has taken the message, nothing after it (QUIT) can make it a failure:
    trying again would send it twice."""
    client = _connect(smtp)
    try:
        try:
            refused = client.send_message(message, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
    except BaseException:
        client.close()
        raise
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()
    return {r: Refusal(f"{code} {text.decode('utf-8', 'replace')}", code >= 500) for r, (code, text) in refused.items()}


def _connect(smtp: SmtpConfig) -> smtplib.SMTP:
    """Connected, encrypted as configured (certificates verified) and logged in."""
    context = ssl.create_default_context()
    if smtp.ca_file:
        context.load_verify_locations(cafile=str(smtp.ca_file))
    if smtp.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    try:
        if smtp.security == "starttls":
            client.starttls(context=context)
        if smtp.username:
            if smtp.security == "none" and smtp.host not in ("localhost", "127.0.0.1", "::1"):
                raise smtplib.SMTPAuthenticationError(530, b"refusing to send the password unencrypted: set "
                                                           b"[email.smtp] security to starttls or ssl")
            password = os.environ.get(smtp.password_env)
            if password is None:
                raise smtplib.SMTPAuthenticationError(535, f"the environment variable {smtp.password_env} "
                                                           f"([email.smtp] password_env) is not set".encode())
            client.login(smtp.username, password)
    except BaseException:
        client.close()
        raise
    return client


def _permanent(exc: BaseException) -> bool:
    """Failures that trying again at once cannot mend: 5xx answers, a certificate that is not trusted."""
    return (isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500) or isinstance(exc, ssl.SSLError)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"{exc.smtp_code} {error}"
    return str(exc) or type(exc).__name__
