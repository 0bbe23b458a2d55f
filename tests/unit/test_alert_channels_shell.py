"""Notification channels of the alert shell: documents, secrets, retries, a local webhook and a local SMTP server."""

from __future__ import annotations

import pytest
from adapters.notification_channels.config import ChannelError, parse_channel, smtp_settings, webhook_url
from adapters.notification_channels.delivery import DeliveryError, deliver_with_retry
from adapters.notification_channels.sender import ChannelSender
from finance_core.alert_notices import Notice, NoticeAlert

from tests.alert_receivers import SmtpReceiver, WebhookReceiver, free_port

NOTICE = Notice(
    "acme",
    "initial",
    [
        NoticeAlert(
            "a1", "r1", "critical", "active", "Margin below 60%", "Gross margin is 55.00%.", "_all", "2026-10", 1
        )
    ],
)
SECRETS = {"SLACK_WEBHOOK_URL": "https://hooks.example/T000/B000/xyz", "SMTP_PASSWORD": "s3cret"}
NO_SLEEP: list[float] = []


def _sender(channels: dict, secrets: dict | None = None) -> ChannelSender:
    return ChannelSender(
        lambda org, ids: {i: channels.get(i) for i in ids},
        (secrets or SECRETS).get,
        lambda: {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": "25",
            "SMTP_USER": "",
            "SMTP_FROM": "a@b.c",
            "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        },
        sleep=NO_SLEEP.append,
    )


# --- documents and secrets ---------------------------------------------------------------------


def test_a_webhook_url_comes_from_the_document_or_from_a_named_secret():
    assert (
        webhook_url(parse_channel("c", {"type": "webhook", "url": "http://127.0.0.1:1/x"}), SECRETS.get)
        == "http://127.0.0.1:1/x"
    )
    channel = parse_channel("c", {"type": "webhook", "url_secret": "SLACK_WEBHOOK_URL"})
    assert webhook_url(channel, SECRETS.get) == SECRETS["SLACK_WEBHOOK_URL"]
    with pytest.raises(ChannelError, match="secret SLACK_WEBHOOK_URL has no value"):
        webhook_url(channel, {"SLACK_WEBHOOK_URL": "unset-local"}.get)


@pytest.mark.parametrize(
    "document, message",
    [
        (None, "does not exist"),
        ({"type": "pager"}, "type"),
        ({"type": "webhook", "url_secret": "HOME"}, "url_secret"),
        ({"type": "webhook", "url": "ftp://x"}, "url"),
        ({"type": "email", "recipients": []}, "recipients"),
        ({"type": "email", "recipients": ["not-an-address"]}, "recipients"),
        ({"type": "email", "recipients": ["a@b.c"], "password": "inline"}, "password"),
    ],
)
def test_a_broken_channel_document_is_refused_with_a_reason(document, message):
    with pytest.raises(ChannelError, match=message):
        parse_channel("c", document)


def test_smtp_settings_take_the_document_over_the_params_and_the_password_from_the_secret():
    channel = parse_channel(
        "c",
        {
            "type": "email",
            "recipients": ["cfo@acme.test"],
            "smtp_port": 587,
            "smtp_user": "alerts",
            "password_secret": "SMTP_PASSWORD",
        },
    )
    settings = smtp_settings(
        channel, {"SMTP_HOST": "smtp.acme.test", "SMTP_PORT": "25", "SMTP_FROM": "x@acme.test"}, SECRETS.get
    )
    assert (settings.host, settings.port, settings.security, settings.user, settings.password, settings.sender) == (
        "smtp.acme.test",
        587,
        "starttls",
        "alerts",
        "s3cret",
        "x@acme.test",
    )


# --- retries -----------------------------------------------------------------------------------


def test_a_failing_send_is_retried_with_exponential_backoff_then_given_up():
    sleeps: list[float] = []
    calls = []

    def send():
        calls.append(1)
        raise DeliveryError("HTTP 503")

    outcome = deliver_with_retry("c", send, sleep=sleeps.append)
    # The shared policy: jittered waits under 0.5 s, then under 1 s.
    assert (outcome.delivered, outcome.attempts, len(sleeps)) == (False, 3, 2)
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0
    assert outcome.last_error == "attempt 3: HTTP 503"


def test_a_permanent_error_is_not_retried():
    outcome = deliver_with_retry(
        "c", lambda: (_ for _ in ()).throw(DeliveryError("HTTP 404", retryable=False)), sleep=NO_SLEEP.append
    )
    assert (outcome.delivered, outcome.attempts) == (False, 1)


# --- real local receivers ----------------------------------------------------------------------


def test_a_webhook_that_fails_once_gets_the_payload_on_the_second_attempt():
    with WebhookReceiver(script=[500]) as hook:
        outcomes = _sender({"ops": {"type": "webhook", "url": f"{hook.url}/ops"}}).send("acme", ["ops"], NOTICE)
    assert [(o.channel_id, o.delivered, o.attempts) for o in outcomes] == [("ops", True, 2)]
    assert "HTTP 500" in outcomes[0].last_error
    assert [r.status for r in hook.all("/ops")] == [500, 200]
    payload = hook.delivered("/ops")[0].body
    assert payload["text"] == "[CRITICAL] Margin below 60%" and payload["blocks"]


def test_a_broken_channel_never_blocks_the_others():
    port = free_port()  # nobody listens: connection refused on every attempt
    with WebhookReceiver() as hook:
        outcomes = _sender(
            {
                "dead": {"type": "webhook", "url": f"http://127.0.0.1:{port}/x", "timeout_seconds": 1},
                "bad": {"type": "webhook"},
                "off": {"type": "webhook", "url": f"{hook.url}/off", "enabled": False},
                "good": {"type": "webhook", "url": f"{hook.url}/good"},
            }
        ).send("acme", ["dead", "bad", "missing", "off", "good"], NOTICE)
    by_channel = {o.channel_id: o for o in outcomes}
    assert set(by_channel) == {"dead", "bad", "missing", "good"}  # a disabled channel is skipped
    assert by_channel["good"].delivered
    assert by_channel["dead"].attempts == 3 and "ConnectionError" in by_channel["dead"].last_error
    assert "127.0.0.1" not in by_channel["dead"].last_error, "a delivery error never repeats the URL"
    assert by_channel["bad"].attempts == 0 and "url or url_secret" in by_channel["bad"].last_error
    assert "does not exist" in by_channel["missing"].last_error
    assert len(hook.all("/off")) == 0


def test_an_email_arrives_with_a_text_and_an_html_part():
    with SmtpReceiver() as smtp:
        sender = _sender(
            {
                "cfo": {
                    "type": "email",
                    "recipients": ["cfo@acme.test", "ops@acme.test"],
                    "smtp_port": smtp.port,
                    "sender": "alerts@acme.test",
                }
            }
        )
        outcomes = sender.send("acme", ["cfo"], NOTICE)
    assert outcomes[0].delivered and outcomes[0].attempts == 1
    [message] = smtp.messages
    assert smtp.recipients == [["cfo@acme.test", "ops@acme.test"]]
    assert message["Subject"] == "[CRITICAL] Margin below 60%" and message["From"] == "alerts@acme.test"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Gross margin is 55.00%." in text and "<h2>[CRITICAL] Margin below 60%</h2>" in html


# --- channel safety ------------------------------------------------------------------------------


def test_a_secret_bearing_webhook_path_never_reaches_what_members_read():
    secret_path = "/services/T0SECRET/B0SECRET/xoxsecretPathToken123456"
    port = free_port()  # nobody listens: the connection error of requests names the whole URL
    with WebhookReceiver(script=[404, 404, 404]) as hook:
        hook_url = f"{hook.url}{secret_path}"
        outcomes = _sender(
            {
                "dead": {"type": "webhook", "url": f"http://127.0.0.1:{port}{secret_path}", "timeout_seconds": 1},
                "refused": {"type": "webhook", "url": hook_url},
            }
        ).send("acme", ["dead", "refused"], NOTICE)
    for outcome in outcomes:
        assert not outcome.delivered
        for text in outcome.errors:
            assert "SECRET" not in text and "xoxsecret" not in text and "://" not in text, text
    refused = {o.channel_id: o for o in outcomes}["refused"]
    assert refused.attempts == 1 and "HTTP 404" in refused.last_error, "a 4xx is not retried"


def test_a_webhook_host_must_be_allow_listed_and_use_https():
    from adapters.notification_channels.config import check_webhook_url

    allowed = {"WEBHOOK_ALLOWED_HOSTS": "hooks.slack.com,.example"}
    assert check_webhook_url("https://eu.hooks.example/T/B/x", allowed) == "https://eu.hooks.example/T/B/x"
    with pytest.raises(ChannelError, match="must use https"):
        check_webhook_url("http://hooks.slack.com/x", allowed)
    with pytest.raises(ChannelError, match="not allowed"):
        check_webhook_url("https://hooks.slack.com.evil.test/x", allowed)
    strict = ChannelSender(
        lambda org, ids: {"ext": {"type": "webhook", "url": "https://evil.example/hook"}},
        {}.get,
        lambda: {},
        sleep=NO_SLEEP.append,
    )
    [outcome] = strict.send("acme", ["ext"], NOTICE)
    assert (
        outcome.attempts == 0 and "not allowed" in outcome.last_error and "WEBHOOK_ALLOWED_HOSTS" in outcome.last_error
    )


def test_an_smtp_password_goes_only_over_tls_and_only_to_allowed_servers():
    base = {"type": "email", "recipients": ["cfo@acme.test"], "password_secret": "SMTP_PASSWORD"}
    defaults = {"SMTP_HOST": "smtp.acme.test", "SMTP_PORT": "25", "SMTP_ALLOWED_HOSTS": ".mail.acme.test"}
    with pytest.raises(ChannelError, match="only sent over TLS"):
        smtp_settings(parse_channel("c", base), defaults, SECRETS.get)
    with pytest.raises(ChannelError, match="is not allowed"):
        smtp_settings(
            parse_channel("c", {**base, "smtp_host": "attacker.test", "smtp_port": 465}), defaults, SECRETS.get
        )
    allowed = smtp_settings(
        parse_channel("c", {**base, "smtp_host": "eu.mail.acme.test", "smtp_port": 587}), defaults, SECRETS.get
    )
    assert (allowed.host, allowed.security, allowed.password) == ("eu.mail.acme.test", "starttls", "s3cret")
    with pytest.raises(ChannelError, match="no default in production"):
        smtp_settings(parse_channel("c", {"type": "email", "recipients": ["a@b.c"]}), {"SMTP_PORT": "587"}, SECRETS.get)


def test_a_secret_set_in_the_console_is_used_and_the_console_fields_are_not_settings():
    from adapters.notification_channels.documents import mask

    answers = {"secret_set": True, "secret_hint": "https://hooks.slack.com/…", "last_test": {"delivered": True}}
    hook = parse_channel(
        "ops", {"type": "webhook", **answers, "stored_secret": "https://hooks.slack.com/services/T/B/x"}
    )
    assert webhook_url(hook, lambda name: "unset-local") == "https://hooks.slack.com/services/T/B/x"
    assert "services/T/B/x" not in repr(hook)  # never in a log line
    with pytest.raises(ChannelError, match="not an http"):
        webhook_url(parse_channel("ops", {"type": "webhook", "stored_secret": "ftp://x"}), lambda name: "")
    mail = parse_channel(
        "m",
        {"type": "email", "recipients": ["a@example.com"], "smtp_port": 587, "smtp_user": "u", "stored_secret": "pw"},
    )
    settings = smtp_settings(mail, {"SMTP_HOST": "smtp.example.com"}, lambda name: "unset-local")
    assert settings.password == "pw" and settings.security == "starttls"
    assert mask("https://hooks.slack.com/services/T/B/secret") == "https://hooks.slack.com/…"
    assert mask("hunter2") == "••••••• (7 characters)"
