"""REPLICATE_LOG: what the ``replicate`` logger says, and that it never says the token."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import make_client

import replicate
from replicate import _logging

SIGNATURE = "SigSecretValue123abc"


@pytest.fixture
def replicate_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[logging.Logger]:
    """The ``replicate`` logger, restored afterwards; REPLICATE_LOG is read again."""
    logger = logging.getLogger("replicate")
    level, handlers = logger.level, list(logger.handlers)
    monkeypatch.setattr(_logging, "_configured", False)
    yield logger
    logger.setLevel(level)
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)


def replicate_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "replicate" or r.name.startswith("replicate.")]


def assert_no_secret(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str], *secrets: str
) -> list[str]:
    """Check the SDK's records and printed lines for secrets; return the printed lines."""
    # Only what the SDK logs: the test server (werkzeug) logs its own request lines.
    out, err = capfd.readouterr()
    printed = [line for line in (out + err).splitlines() if " - replicate" in line]
    records = replicate_records(caplog)
    for secret in (TOKEN, *secrets):
        assert not [line for line in printed if secret in line]
        for record in records:
            assert secret not in record.getMessage()
            assert secret not in str(record.args)
            assert secret not in (record.exc_text or "")
    return printed


def test_debug_logs_method_url_status(
    httpserver: HTTPServer,
    replicate_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REPLICATE_LOG", "debug")
    httpserver.expect_request("/v1/ping").respond_with_json({"ok": True})
    httpserver.expect_request("/v1/items", method="POST").respond_with_json({}, status=201)
    with make_client(httpserver.url_for("/v1")) as c:
        assert replicate_logger.isEnabledFor(logging.DEBUG)
        c.get("/ping")
        c.post("/items", json={"token": "not-the-token"})
    messages = [r.getMessage() for r in replicate_records(caplog)]
    url = httpserver.url_for("/v1/ping")
    assert any("GET" in m and url in m and "200" in m for m in messages), messages
    assert any(
        "POST" in m and httpserver.url_for("/v1/items") in m and "201" in m for m in messages
    ), messages
    assert all(r.levelno == logging.DEBUG for r in replicate_records(caplog))
    # REPLICATE_LOG attached a stderr handler, and it printed the lines too.
    printed = assert_no_secret(caplog, capfd)
    assert any(url in line and "DEBUG" in line for line in printed), printed


def test_token_never_logged_even_on_errors(
    httpserver: HTTPServer,
    replicate_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REPLICATE_LOG", "debug")
    httpserver.expect_request("/v1/denied").respond_with_json({"detail": "bad token"}, status=401)
    httpserver.expect_request("/v1/moved").respond_with_data(
        "", status=302, headers={"Location": "/v1/denied"}
    )
    with make_client(httpserver.url_for("/v1")) as c:
        with pytest.raises(replicate.AuthenticationError):
            c.get("/denied", headers={"X-Api-Key": TOKEN})
        with pytest.raises(replicate.AuthenticationError):
            c.get("/moved")
    assert len(replicate_records(caplog)) >= 4
    assert_no_secret(caplog, capfd)


def test_signature_in_url_is_redacted(
    httpserver: HTTPServer,
    replicate_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REPLICATE_LOG", "debug")
    httpserver.expect_request("/v1/files/abc").respond_with_data("file")
    httpserver.expect_request("/download").respond_with_data("file")
    with make_client(httpserver.url_for("/v1")) as c:
        c.get("/files/abc", params={"signature": SIGNATURE, "expiry": 1700000000})
        c.get(
            httpserver.url_for("/download")
            + f"?X-Amz-Signature={SIGNATURE}&token={SIGNATURE}x&owner=me"
        )
    # The server got the real values: only the logs are redacted.
    assert httpserver.log[0][0].args["signature"] == SIGNATURE
    messages = [r.getMessage() for r in replicate_records(caplog)]
    assert any("signature=[redacted]" in m and "expiry=1700000000" in m for m in messages)
    assert any("X-Amz-Signature=[redacted]" in m and "owner=me" in m for m in messages)
    printed = assert_no_secret(caplog, capfd, SIGNATURE)
    assert any("signature=[redacted]" in line for line in printed)


def test_userinfo_in_url_is_redacted(
    httpserver: HTTPServer,
    replicate_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REPLICATE_LOG", "debug")
    httpserver.expect_request("/basic").respond_with_data("ok")
    url = f"http://user:{SIGNATURE}@{httpserver.host}:{httpserver.port}/basic"
    with make_client(httpserver.url_for("/v1")) as c:
        c.get(url)
    assert any("/basic" in r.getMessage() for r in replicate_records(caplog))
    assert_no_secret(caplog, capfd, SIGNATURE)


def test_retries_logged_at_info(
    httpserver: HTTPServer,
    replicate_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REPLICATE_LOG", "info")
    httpserver.expect_oneshot_request("/v1/flaky").respond_with_data("busy", status=503)
    httpserver.expect_oneshot_request("/v1/flaky").respond_with_data("slow down", status=429)
    httpserver.expect_request("/v1/flaky").respond_with_data("ok")
    with make_client(httpserver.url_for("/v1")) as c:
        assert c.get("/flaky", params={"signature": SIGNATURE}).text == "ok"
    records = replicate_records(caplog)
    retries = [r for r in records if "Retrying" in r.getMessage()]
    assert len(retries) == 2
    assert all(r.levelno == logging.INFO for r in retries)
    assert "status 503" in retries[0].getMessage()
    assert "status 429" in retries[1].getMessage()
    assert "GET" in retries[0].getMessage()
    assert "/v1/flaky" in retries[0].getMessage()
    # At INFO the per-request DEBUG lines are not emitted.
    assert all(r.levelno >= logging.INFO for r in records)
    assert_no_secret(caplog, capfd, SIGNATURE)


def test_connection_retry_logged_with_error_type(
    replicate_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REPLICATE_LOG", "debug")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (
        replicate.Replicate(
            bearer_token=TOKEN,
            base_url=f"http://127.0.0.1:{port}/v1",
            retry_policy=replicate.DefaultRetryPolicy(initial_backoff=0.001, max_backoff=0.002),
            max_retries=1,
        ) as c,
        pytest.raises(replicate.APIConnectionError),
    ):
        c.get("/ping", params={"token": SIGNATURE})
    retries = [r for r in replicate_records(caplog) if "Retrying" in r.getMessage()]
    assert len(retries) == 1
    assert retries[0].levelno == logging.INFO
    assert "APIConnectionError" in retries[0].getMessage()
    assert_no_secret(caplog, capfd, SIGNATURE)


def test_no_replicate_log_means_no_debug_lines(
    httpserver: HTTPServer,
    replicate_logger: logging.Logger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    replicate_logger.setLevel(logging.NOTSET)
    httpserver.expect_request("/v1/ping").respond_with_data("ok")
    with make_client(httpserver.url_for("/v1")) as c:
        c.get("/ping")
    assert replicate_records(caplog) == []
    assert not any(
        isinstance(h, logging.StreamHandler) and h not in logging.getLogger().handlers
        for h in replicate_logger.handlers
    )


def test_verify_false_warns(
    replicate_logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    with replicate.Replicate(verify=False):
        pass
    warnings = [r for r in replicate_records(caplog) if r.levelno == logging.WARNING]
    assert any("verify=False" in r.getMessage() for r in warnings)
