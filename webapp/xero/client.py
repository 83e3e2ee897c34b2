"""The API client for one connected organisation: paced, retried, typed, and counting its calls."""
import logging
import time
from collections.abc import Callable, Iterator

import requests

from webapp.redis_conn import get_redis
from webapp.xero.errors import XeroAuthError, XeroUnavailable
from webapp.xero.http_errors import error_for, rate_limited, success_json
from webapp.xero.pacing import Limits, Pacer, RateInfo
from webapp.xero.retry import RetryableFailure, call_with_retries
from webapp.xero.settings import XeroSettings
from webapp.xero.token_store import TokenManager

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 30
MAX_ATTEMPTS = 4
MAX_RETRY_AFTER = 60.0  # a longer Retry-After (e.g. the day limit) is handed to the caller instead
DEFAULT_PAGE_SIZE = 100
IDEMPOTENT_METHODS = {"GET", "HEAD", "DELETE"}


class XeroClient:
    """Calls Xero for one connection (`connection_id`, organisation `tenant_id`).

    `calls` counts every HTTP request made to the API (retries included) for SyncRun.xero_calls. `sleep`
    waits between retries (and token refresh retries) and for the pacer; None means the retry policy's own sleep
    (webapp.xero.retry, which a test can replace in one place) for retries, and time.sleep for the pacer.
    """

    def __init__(self, settings: XeroSettings, connection_id: int, tenant_id: str,
                 tokens: TokenManager | None = None, pacer: Pacer | None = None,
                 http: requests.Session | None = None, sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], float] | None = None, limits: Limits | None = None,
                 max_attempts: int = MAX_ATTEMPTS, max_retry_after: float = MAX_RETRY_AFTER):
        self.settings = settings
        self.connection_id = connection_id
        self.tenant_id = tenant_id
        self.sleep = sleep
        self.tokens = tokens or TokenManager(settings, sleep=sleep)
        self.pacer = pacer or Pacer(get_redis(settings.redis_url), settings.redis_key_prefix, tenant_id,
                                    limits=limits, clock=clock, sleep=sleep or time.sleep)
        self.http = http or requests.Session()
        self.max_attempts = max_attempts
        self.max_retry_after = max_retry_after
        self.calls = 0
        self.rate = RateInfo()

    @classmethod
    def for_connection(cls, connection, settings: XeroSettings, **kwargs) -> "XeroClient":
        """A client for a stored XeroConnection row."""
        return cls(settings, connection.id, connection.tenant_id, **kwargs)

    # -- public calls ------------------------------------------------------------------------------------
    def get(self, path: str, params: dict | None = None, headers: dict | None = None) -> dict:
        """GET `path` (relative to the Accounting API, or a full URL); retried when it fails."""
        return self.request("GET", path, params=params, headers=headers)

    def post(self, path: str, json: dict, params: dict | None = None, headers: dict | None = None) -> dict:
        """POST `json`; repeated after a failure only with an Idempotency-Key header."""
        return self.request("POST", path, params=params, json=json, headers=headers)

    def put(self, path: str, json: dict, params: dict | None = None, headers: dict | None = None) -> dict:
        """PUT `json`; repeated after a failure only with an Idempotency-Key header."""
        return self.request("PUT", path, params=params, json=json, headers=headers)

    def delete(self, path: str, headers: dict | None = None) -> dict:
        """DELETE `path`; retried when it fails (deleting twice is harmless)."""
        return self.request("DELETE", path, headers=headers)

    def paged(self, path: str, collection: str, params: dict | None = None,
              page_size: int = DEFAULT_PAGE_SIZE, send_page_size: bool = False) -> Iterator[dict]:
        """Every item of a paged collection (`?page=1,2,…`), stopping at the first short page."""
        page = 1
        while True:
            query = dict(params or {}, page=page)
            if send_page_size:
                query["pageSize"] = page_size
            items = self.get(path, params=query).get(collection) or []
            yield from items
            if len(items) < page_size:
                return
            page += 1

    # -- the machinery --------------------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        if path.startswith("http"):
            return path
        return f"{self.settings.accounting_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, params: dict | None = None, json: dict | None = None,
                headers: dict | None = None) -> dict:
        """One logical call: retried on 5xx/timeouts (when safe to repeat) and on 429 after Retry-After."""
        method = method.upper()
        repeatable = method in IDEMPOTENT_METHODS or any(k.lower() == "idempotency-key" for k in (headers or {}))
        state = {"stale_token": None, "auth_retried": False}

        def attempt():
            return self._attempt(method, self._url(path), params, json, headers or {}, repeatable, state)

        return call_with_retries(attempt, attempts=self.max_attempts, sleep=self.sleep)

    def _attempt(self, method, url, params, json, headers, repeatable, state) -> dict:
        token = self.tokens.access_token(self.connection_id, stale_token=state["stale_token"])
        request_headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": self.tenant_id,
                           "Accept": "application/json", **headers}
        with self.pacer.slot():
            self.calls += 1
            try:
                response = self.http.request(method, url, params=params, json=json, headers=request_headers,
                                             timeout=HTTP_TIMEOUT)
            except (requests.Timeout, requests.ConnectionError) as exc:
                no_answer = XeroUnavailable(f"Xero did not answer ({type(exc).__name__}); try again shortly.")
                if repeatable:
                    log.warning("Xero %s %s: %s; retrying", method, url, type(exc).__name__)
                    raise RetryableFailure(no_answer) from None
                raise no_answer from None
        self.rate = self.pacer.observe(response.headers)
        status = response.status_code
        if status < 300:
            try:
                return success_json(response)
            except XeroUnavailable as unreadable:
                if repeatable:
                    log.warning("Xero %s %s answered %s with an unreadable body; retrying", method, url, status)
                    raise RetryableFailure(unreadable) from None
                raise
        error = error_for(response)
        if status == 401 and isinstance(error, XeroAuthError) and not state["auth_retried"]:
            # Perhaps our token expired early: refresh once (skipping the token Xero refused) and try again.
            state["auth_retried"] = True
            state["stale_token"] = token
            raise RetryableFailure(error, wait=0)
        if status == 429:
            limited = rate_limited(response)
            # Every process waits, not just this one (a day-limit 429 pauses them all until Xero's reset);
            # the app-wide limit counts every organisation's calls, so then every organisation waits.
            if limited.problem == "appminute":
                self.pacer.pause_app(limited.retry_after)
            else:
                self.pacer.pause(limited.retry_after)
            if limited.retry_after > self.max_retry_after:
                raise limited
            log.warning("Xero %s limit hit; waiting %ss", limited.problem, limited.retry_after)
            raise RetryableFailure(limited, wait=limited.retry_after)
        if isinstance(error, XeroAuthError):
            # Only here when reconnecting can help: a 401 after a fresh token, or the tenant not connected.
            self.tokens.mark_needs_reconnect(self.connection_id, error.message, used_token=token)
            raise error
        if status >= 500 and repeatable:
            log.warning("Xero %s %s answered %s; retrying", method, url, status)
            raise RetryableFailure(error)
        raise error

