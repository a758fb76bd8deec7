"""Delivering a notification by e-mail over SMTP (stdlib smtplib), plain text."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from trafficcast.alerts.notify.retry import Outcome


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    user: str = ""
    password: str = ""
    sender: str = "trafficcast@localhost"
    starttls: bool = True
    timeout_s: float = 10.0


def message(sender: str, to: str, subject: str, text: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="trafficcast")
    msg.set_content(text)
    return msg


def send(config: SmtpConfig, msg: EmailMessage) -> Outcome:
    """One try. 4xx replies and connection trouble are retried; 5xx ones are final."""
    if not config.host:
        return Outcome(False, None, "SMTP is not configured (TRAFFICCAST_SMTP_HOST)")
    try:
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout_s) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.user:
                smtp.login(config.user, config.password)
            refused = smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        transient = bool(codes) and all(400 <= c < 500 for c in codes)
        return Outcome(False, codes[0] if codes else None, f"recipient refused: {exc}", transient)
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        return Outcome(False, exc.smtp_code, f"SMTP {exc.smtp_code}: {text}", exc.smtp_code < 500)
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}", retry=True)
    if refused:
        return Outcome(False, None, f"recipient refused: {refused}")
    return Outcome(True, 250)
