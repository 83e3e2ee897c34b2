"""No OAuth code or state from Xero's redirect in any log: gunicorn's access and error logs, werkzeug's request
log, and whatever Socket logs while handling the callback."""
import io
import json
import logging
import os
import sys
from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests
from gunicorn.config import Config as GunicornConfig

from tests.live_servers import serve
from webapp.log_redaction import (
    REDACTED,
    RedactingFilter,
    RedactingGunicornLogger,
    install_log_redaction,
    redact_query,
    redact_text,
)

CODE = "kz-Whv9AQn43X7Gsv5INAXIt3VCpGk95HKEPlo9qvkk"
STATE = "k8kjHBFWkGhKTMqaMmgQ8E_a0NqyxZEGLk6yJwu98Yg"
SESSION_STATE = "RD802oUD7OSzp3xRk-VZtQ"
QUERY = (f"code={CODE}&scope=offline_access+accounting.settings.read&state={STATE}"
         f"&session_state={SESSION_STATE}")
CALLBACK = "/settings/integrations/xero/callback"
SECRETS = (CODE, STATE, SESSION_STATE)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, text


def test_redact_text_replaces_only_secret_values():
    line = f'"GET {CALLBACK}?{QUERY} HTTP/1.1" 303 -'
    redacted = redact_text(line)
    assert_no_secret(redacted)
    assert redacted == (f'"GET {CALLBACK}?code={REDACTED}&scope=offline_access+accounting.settings.read'
                        f'&state={REDACTED}&session_state={REDACTED} HTTP/1.1" 303 -')
    assert redact_query(QUERY).startswith(f"code={REDACTED}&scope=offline_access")
    assert redact_text("GET /clients?page=2&q=smith HTTP/1.1") == "GET /clients?page=2&q=smith HTTP/1.1"
    assert redact_text("/x?refresh_token=abc&access_token=def&client_secret=ghi") == \
        f"/x?refresh_token={REDACTED}&access_token={REDACTED}&client_secret={REDACTED}"
    assert redact_text("a=b no query here") == "a=b no query here"
    assert redact_query("") == ""


# -- gunicorn ------------------------------------------------------------------------------------------------------
def gunicorn_logger(access_log_format: str | None = None) -> tuple[RedactingGunicornLogger, io.StringIO]:
    """The logger class the Procfile names, set up as gunicorn would, writing both logs to one buffer."""
    cfg = GunicornConfig()
    cfg.set("accesslog", "-")
    if access_log_format:
        cfg.set("access_log_format", access_log_format)
    logger = RedactingGunicornLogger(cfg)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    for log in (logger.access_log, logger.error_log):
        log.addHandler(handler)
    return logger, out


def callback_request():
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"{CALLBACK}?{QUERY}", "PATH_INFO": CALLBACK,
               "QUERY_STRING": QUERY, "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.9",
               "HTTP_REFERER": f"https://login.xero.com/identity/connect/authorize?state={STATE}",
               "HTTP_USER_AGENT": "Mozilla/5.0"}
    response = SimpleNamespace(status="303 See Other", sent=0, headers=[("Location", "/settings/integrations")])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"]), ("USER-AGENT", "Mozilla/5.0")])
    return response, request, environ


def test_gunicorn_access_log_redacts_the_callbacks_query():
    logger, out = gunicorn_logger()  # gunicorn's default format: %(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s ... "%(f)s"
    response, request, environ = callback_request()
    logger.access(response, request, environ, timedelta(milliseconds=12))
    line = out.getvalue()
    assert f'"GET {CALLBACK}?code={REDACTED}&scope=offline_access' in line and f"state={REDACTED}" in line
    assert "303" in line
    assert_no_secret(line)


def test_gunicorn_access_log_atoms_are_all_redacted():
    logger, out = gunicorn_logger('%(r)s|%(q)s|%(U)s|%(f)s|%({raw_uri}e)s|%({query_string}e)s|%({referer}i)s')
    response, request, environ = callback_request()
    logger.access(response, request, environ, timedelta(milliseconds=12))
    line = out.getvalue().strip()
    assert_no_secret(line)
    r, q, path, referer, raw_uri, query_string, referer_header = line.split("|")
    assert r == f"GET {CALLBACK}?{redact_query(QUERY)} HTTP/1.1"
    assert q == query_string == redact_query(QUERY) and q.startswith(f"code={REDACTED}&")
    assert path == CALLBACK and raw_uri == f"{CALLBACK}?{redact_query(QUERY)}"
    assert referer == referer_header and referer.endswith(f"state={REDACTED}")


def test_gunicorn_error_log_redacts_a_timed_out_callback():
    # A worker killed at --timeout logs "Error handling request GET <uri>" with the traceback.
    logger, out = gunicorn_logger()
    try:
        raise SystemExit(1)
    except SystemExit:
        logger.exception("Error handling request %s %s", "GET", f"{CALLBACK}?{QUERY}")
    text = out.getvalue()
    assert f"Error handling request GET {CALLBACK}?code={REDACTED}" in text and "SystemExit" in text
    assert_no_secret(text)


def test_the_procfile_runs_gunicorn_with_the_redacting_logger_and_a_timeout():
    with open(os.path.join(os.path.dirname(os.path.dirname(__file__)), "Procfile")) as handle:
        web = next(line for line in handle if line.startswith("web:"))
    assert "--logger-class webapp.log_redaction.RedactingGunicornLogger" in web
    assert "--timeout ${WEB_TIMEOUT:-30}" in web


# -- werkzeug and Socket's own logs ------------------------------------------------------------------------------
def test_werkzeug_request_log_is_redacted(app, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    logging.getLogger("werkzeug").info('%s - - [%s] "%s" %s %s', "127.0.0.1", "30/Nov/2026 22:14:24",
                                       f"GET {CALLBACK}?{QUERY} HTTP/1.1", "303", "-")
    [record] = [r for r in caplog.records if r.name == "werkzeug"]
    assert f"code={REDACTED}" in record.getMessage()
    assert_no_secret(record.getMessage())


def test_create_app_installs_the_werkzeug_filter_once(app):
    werkzeug = logging.getLogger("werkzeug")
    before = list(werkzeug.filters)
    try:
        assert sum(isinstance(f, RedactingFilter) for f in werkzeug.filters) == 1
        install_log_redaction()  # another create_app in the same process
        assert sum(isinstance(f, RedactingFilter) for f in werkzeug.filters) == 1
    finally:
        werkzeug.filters[:] = before


def test_the_filter_redacts_traceback_text():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, None)
    try:
        raise RuntimeError(f"could not load {CALLBACK}?{QUERY}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert_no_secret(record.exc_text)


def all_logged(caplog) -> str:
    return "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)


@pytest.fixture
def callback_timing_out(app, auth_client, mocked, monkeypatch):
    """A started sign-in whose callback meets a Xero that gives tokens, then times out on /connections."""
    from webapp.redis_conn import get_redis
    from webapp.xero import retry
    from webapp.xero.settings import XeroSettings

    monkeypatch.setattr(retry, "_real_sleep", lambda seconds: None)
    settings = XeroSettings.from_config(app.config)
    auth_client.post("/settings/integrations/xero/connect")
    with auth_client.session_transaction() as session:
        flow_id = session["xero_oauth"]
    key = settings.redis_key("xero", "sign-in", flow_id)
    redis = get_redis(settings.redis_url)
    flow = json.loads(redis.get(key))
    flow["state"] = STATE  # the state Xero sends back, known to the test
    redis.set(key, json.dumps(flow), ex=600)
    mocked.post(settings.token_url, json={"access_token": "a.b.c", "refresh_token": "r", "expires_in": 1800})
    mocked.get(settings.connections_url, body=requests.exceptions.ReadTimeout(f"timed out: {CALLBACK}?{QUERY}"))
    mocked.post(settings.revocation_url, status=200)
    return auth_client


@pytest.fixture
def mocked():
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def test_a_timed_out_callback_leaves_no_code_or_state_in_any_log_record(callback_timing_out, caplog):
    caplog.set_level(logging.DEBUG)
    response = callback_timing_out.get(f"{CALLBACK}?{QUERY}", follow_redirects=True)
    assert "Xero took too long to answer" in response.get_data(as_text=True)
    assert caplog.records  # Socket did log the failure
    assert_no_secret(all_logged(caplog))


def test_the_dev_servers_request_log_has_no_code_or_state(app, auth_client, caplog):
    """Through werkzeug's own server (what `flask run` uses), as a browser coming back from Xero would."""
    caplog.set_level(logging.INFO)
    with serve(app) as url:
        requests.get(f"{url}{CALLBACK}?{QUERY}", allow_redirects=False, timeout=10)
    logged = all_logged(caplog)
    assert CALLBACK in logged and f"code={REDACTED}" in logged
    assert_no_secret(logged)


def test_what_socket_logs_through_the_root_handlers_is_redacted(app):
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install_log_redaction()  # create_app's call, with this handler in place
        logging.getLogger("webapp.services.xero_connection").warning("Xero did not answer for %s",
                                                                     f"{CALLBACK}?{QUERY}")
    finally:
        root.removeHandler(handler)
    assert f"{CALLBACK}?code={REDACTED}" in out.getvalue()
    assert_no_secret(out.getvalue())
