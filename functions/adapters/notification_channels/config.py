"""Channel documents (organizations/{org}/notification_channels/{channel_id}) and their resolved settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

# Names of the secret params a channel document may refer to. A document names a secret, never
# holds it; and only these names resolve, so a channel cannot read any other environment value.
SECRET_NAMES = frozenset({"SLACK_WEBHOOK_URL", "SMTP_PASSWORD"})


class ChannelError(ValueError):
    """A channel that cannot be used (broken document, missing secret); the message says why."""


# Fields of a channel document that describe it for people (the console's answers), not how to send.
NOT_SETTINGS = frozenset(
    {
        "updated_at",
        "updated_by",
        "created_at",
        "secret_set",
        "secret_hint",
        "secret_updated_at",
        "secret_updated_by",
        "last_test",
    }
)


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, max_length=200, description="Readable name.")
    enabled: bool = True
    timeout_seconds: float = Field(default=5.0, gt=0, le=30, description="Per attempt.")
    stored_secret: str | None = Field(
        default=None,
        repr=False,
        description="The channel's own secret (webhook URL or SMTP password) set through the console; "
        "read from channel_secrets by the loader, never stored on the channel document.",
    )


class WebhookChannel(_Channel):
    """Slack-compatible incoming webhook: the notification is POSTed as JSON (text + blocks)."""

    type: Literal["webhook"]
    url: str | None = Field(default=None, pattern=r"^https?://", description="Target URL (local/dev use).")
    url_secret: Literal["SLACK_WEBHOOK_URL"] | None = Field(
        default=None, description="Name of the secret param that holds the URL (production)."
    )


class EmailChannel(_Channel):
    """E-mail over SMTP with a plain-text and an HTML part."""

    type: Literal["email"]
    recipients: tuple[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")], ...] = Field(min_length=1, max_length=50)
    smtp_host: str | None = Field(default=None, description="Overrides the SMTP_HOST param (local servers).")
    smtp_port: int | None = Field(default=None, ge=1, le=65535, description="Overrides SMTP_PORT.")
    smtp_user: str | None = Field(default=None, description="Overrides SMTP_USER.")
    sender: str | None = Field(default=None, description="Overrides SMTP_FROM.")
    password_secret: Literal["SMTP_PASSWORD"] | None = Field(
        default=None, description="Name of the secret param that holds the SMTP password."
    )
    security: Literal["none", "starttls", "tls"] | None = Field(
        default=None, description="Default: tls on port 465, starttls on 587, none otherwise."
    )


Channel = Annotated[WebhookChannel | EmailChannel, Field(discriminator="type")]
_ADAPTER: TypeAdapter[Channel] = TypeAdapter(Channel)


def parse_channel(channel_id: str, document: Mapping[str, Any] | None) -> WebhookChannel | EmailChannel:
    """Validate a channel document; ChannelError with readable reasons (or when it does not exist)."""
    if document is None:
        raise ChannelError(f"channel {channel_id!r} does not exist (organizations/{{org}}/notification_channels)")
    body = {k: v for k, v in document.items() if k not in NOT_SETTINGS}
    try:
        return _ADAPTER.validate_python(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'channel'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise ChannelError(f"channel {channel_id!r} is invalid: {problems}") from None


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how an e-mail channel sends."""

    host: str
    port: int
    user: str
    password: str
    sender: str
    security: str
    recipients: tuple[str, ...]
    timeout: float


def resolve_secret(name: str, secrets: Callable[[str], str]) -> str:
    """Value of a declared secret param; ChannelError if unknown or not configured."""
    if name not in SECRET_NAMES:
        raise ChannelError(f"{name} is not a notification secret")
    value = secrets(name).strip()
    # Locally, functions/.secret.local holds placeholders ("unset-...") so the emulator never asks
    # Secret Manager; a placeholder is as good as no value.
    if not value or value.startswith("unset"):
        raise ChannelError(f"secret {name} has no value (set it in Secret Manager, or functions/.secret.local locally)")
    return value


def webhook_url(channel: WebhookChannel, secrets: Callable[[str], str]) -> str:
    """The URL to POST to: the document's own, else the one set through the console, else the named secret."""
    if channel.url:
        return channel.url
    if channel.stored_secret:
        if not channel.stored_secret.startswith(("http://", "https://")):
            raise ChannelError("the webhook URL set for this channel is not an http(s) URL: set it again")
        return channel.stored_secret
    if channel.url_secret:
        url = resolve_secret(channel.url_secret, secrets)
        if not url.startswith(("http://", "https://")):
            raise ChannelError(f"secret {channel.url_secret} is not an http(s) URL")
        return url
    raise ChannelError("a webhook channel needs url or url_secret, or a URL set in the admin console")


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_WEBHOOK_HOSTS = "hooks.slack.com"


def _allowed(host: str, allowed: str) -> bool:
    """True if `host` is in the comma-separated allow-list (an entry ".example.com" allows its subdomains)."""
    host = host.lower().rstrip(".")
    for entry in (e.strip().lower() for e in allowed.split(",")):
        if entry and (host == entry or (entry.startswith(".") and host.endswith(entry))):
            return True
    return False


def check_webhook_url(url: str, settings: Mapping[str, str]) -> str:
    """The URL if its host is allow-listed (WEBHOOK_ALLOWED_HOSTS) and it uses https (http only to loopback)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not _allowed(host, settings.get("WEBHOOK_ALLOWED_HOSTS") or DEFAULT_WEBHOOK_HOSTS):
        raise ChannelError(f"webhook host {host!r} is not allowed: add it to the WEBHOOK_ALLOWED_HOSTS setting")
    if parts.scheme != "https" and host not in LOOPBACK_HOSTS:
        raise ChannelError(f"webhook to {host!r} must use https")
    return url


def smtp_settings(channel: EmailChannel, defaults: Mapping[str, str], secrets: Callable[[str], str]) -> SmtpSettings:
    """SMTP settings of an e-mail channel: the document's values over the SMTP_* params.

    A channel may only name the SMTP_HOST server or one of SMTP_ALLOWED_HOSTS (a channel document
    must not send the shared SMTP password to a server of its choosing), and a password is only
    ever sent over TLS.
    """
    try:
        port = channel.smtp_port or int(defaults.get("SMTP_PORT") or 25)
    except ValueError:
        raise ChannelError(f"SMTP_PORT {defaults.get('SMTP_PORT')!r} is not a port number") from None
    host = channel.smtp_host or defaults.get("SMTP_HOST") or ""
    if not host:
        raise ChannelError("no SMTP host: set the SMTP_HOST setting (there is no default in production)")
    if (
        channel.smtp_host
        and channel.smtp_host != defaults.get("SMTP_HOST")
        and not _allowed(channel.smtp_host, defaults.get("SMTP_ALLOWED_HOSTS") or "")
    ):
        raise ChannelError(
            f"SMTP host {channel.smtp_host!r} is not allowed: it must be SMTP_HOST or in the SMTP_ALLOWED_HOSTS setting"
        )
    security = channel.security or ("tls" if port == 465 else "starttls" if port == 587 else "none")
    if channel.stored_secret:
        password = channel.stored_secret
    else:
        password = resolve_secret(channel.password_secret, secrets) if channel.password_secret else ""
    if password and security == "none":
        raise ChannelError("the SMTP password is only sent over TLS: use port 465 or 587, or security tls/starttls")
    return SmtpSettings(
        host=host,
        port=port,
        user=channel.smtp_user if channel.smtp_user is not None else defaults.get("SMTP_USER", ""),
        password=password,
        sender=channel.sender or defaults.get("SMTP_FROM") or "alerts@finance-live.invalid",
        security=security,
        recipients=tuple(channel.recipients),
        timeout=channel.timeout_seconds,
    )
