"""E-mail channel: SMTP (smtplib) with a plain-text and an HTML alternative (email.message.EmailMessage)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from adapters.notification_channels.config import SmtpSettings
from adapters.notification_channels.delivery import DeliveryError, redact


def build_message(settings: SmtpSettings, subject: str, text: str, html: str) -> EmailMessage:
    """A multipart/alternative message: text first, HTML preferred by mail clients that can show it."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Message-ID"] = make_msgid(domain="finance-live")
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send_email(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send one message; DeliveryError on failure (authentication and refused recipients are not retried)."""
    try:
        if settings.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.user:
                client.login(settings.user, settings.password)
            client.send_message(message)
    except (smtplib.SMTPAuthenticationError, smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        raise DeliveryError(_safe(exc, settings), retryable=False) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(_safe(exc, settings), retryable=True) from None


def _safe(exc: Exception, settings: SmtpSettings) -> str:
    """The error as members may read it: its kind and the server's words, without the login or password."""
    return redact(f"{type(exc).__name__}: {exc}", [settings.password, settings.user])
