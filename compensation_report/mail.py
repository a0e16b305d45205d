"""Email: Jinja2 templates → EmailMessage → outbox/*.eml; SMTP delivery moves them to outbox/sent/."""

from __future__ import annotations

import os
import smtplib
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path

from compensation_report.errors import DeliveryError
from compensation_report.resources import data_path
from compensation_report.workspace import EmailConfig, SmtpConfig, free_name

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def render_report_email(config: EmailConfig, context: dict, attachment: Path, sent_at: datetime) -> EmailMessage:
    env = _environment(config.templates)
    message = EmailMessage()
    subject = env.get_template("report.subject.j2").render(context, attachment=attachment.name)
    message["Subject"] = " ".join(subject.split())  # one line: input text can never add a header
    message["From"] = config.sender
    message["To"] = ", ".join(config.to)
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(domain=config.sender.rpartition("@")[2] or None)
    message.set_content(env.get_template("report.txt.j2").render(context, attachment=attachment.name))
    message.add_alternative(env.get_template("report.html.j2").render(context, attachment=attachment.name),
                            subtype="html")
    message.add_attachment(attachment.read_bytes(), maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1],
                           filename=attachment.name)
    return message


def _environment(override: Path | None):
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape  # only a run that mails

    folders = [str(override)] if override else []
    folders.append(str(data_path("templates")))
    return Environment(loader=FileSystemLoader(folders), undefined=StrictUndefined,
                       autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                       keep_trailing_newline=True)


def write_outbox(message: EmailMessage, outbox: Path, name: str) -> Path:
    """Written to a temp name and renamed, so `send` never picks up half a message."""
    outbox.mkdir(parents=True, exist_ok=True)
    target = free_name(outbox, name)
    tmp = outbox / f".{target.name}.tmp"
    tmp.write_bytes(message.as_bytes(policy=policy.SMTP))
    os.replace(tmp, target)
    return target


def pending(outbox: Path) -> list[Path]:
    return sorted(outbox.glob("*.eml")) if outbox.is_dir() else []


def deliver(outbox: Path, smtp: SmtpConfig) -> list[Path]:
    """Send every .eml waiting in outbox/ and move each to outbox/sent/ once the server took it."""
    sent = []
    for path in pending(outbox):
        message = BytesParser(policy=policy.default).parse(path.open("rb"))
        try:
            _send(message, smtp)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"could not send {path.name} through {smtp.host}:{smtp.port}: {exc}; "
                                f"it stays in {outbox} for 'compensation-report send'") from exc
        (outbox / "sent").mkdir(exist_ok=True)
        target = free_name(outbox / "sent", path.name)
        os.replace(path, target)
        sent.append(target)
    return sent


def _send(message: EmailMessage, smtp: SmtpConfig) -> None:
    client_class = smtplib.SMTP_SSL if smtp.security == "ssl" else smtplib.SMTP
    with client_class(smtp.host, smtp.port, timeout=30) as client:
        if smtp.security == "starttls":
            client.starttls()
        if smtp.username:
            client.login(smtp.username, os.environ.get(smtp.password_env, ""))
        client.send_message(message)
