"""The API client for one connected organisation: paced, retried, typed, and counting its calls."""
import logging
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from webapp.xero.errors import XeroAuthError, XeroError, XeroUnavailable
from webapp.xero.http_errors import body_json, error_for, rate_limited
from webapp.xero.pacing import Limits, Pacer
from webapp.xero.redis_conn import get_redis
from webapp.xero.settings import XeroSettings
from webapp.xero.token_store import TokenManager

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 30
MAX_ATTEMPTS = 4
MAX_RETRY_AFTER = 60.0  # a longer Retry-After (e.g. the day limit) is handed to the caller instead
DEFAULT_PAGE_SIZE = 100
IDEMPOTENT_METHODS = {"GET", "HEAD", "DELETE"}


class _Retry(Exception):
    """Try the call again after `wait` seconds (None: exponential backoff with jitter); `error` if we give up."""

    def __init__(self, error: XeroError, wait: float | None = None):
        super().__init__(error.message)
        self.error = error
        self.wait = wait


@dataclass
class RateInfo:
    """The last `X-*Limit-Remaining` values Xero sent."""

    minute: int | None = None
    day: int | None = None
    app_minute: int | None = None


class XeroClient:
    """Calls Xero for one connection (`connection_id`, organisation `tenant_id`).

    `calls` counts every HTTP request made to the API (retries included) for SyncRun.xero_calls.
    """

    def __init__(self, settings: XeroSettings, connection_id: int, tenant_id: str,
                 tokens: TokenManager | None = None, pacer: Pacer | None = None,
                 http: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, limits: Limits | None = None,
                 max_attempts: int = MAX_ATTEMPTS, max_retry_after: float = MAX_RETRY_AFTER):
        self.settings = settings
        self.connection_id = connection_id
        self.tenant_id = tenant_id
        self.sleep = sleep
        self.tokens = tokens or TokenManager(settings, sleep=sleep)
        self.pacer = pacer or Pacer(get_redis(settings.redis_url), settings.redis_key_prefix, tenant_id,
                                    limits=limits, clock=clock, sleep=sleep)
        self.http = http or requests.Session()
        self.max_attempts = max_attempts
        self.max_retry_after = max_retry_after
        self.calls = 0
        self.rate = RateInfo()
        self._backoff = wait_exponential_jitter(multiplier=1, max=30)

    @classmethod
    def for_connection(cls, connection, settings: XeroSettings, **kwargs) -> "XeroClient":
        return cls(settings, connection.id, connection.tenant_id, **kwargs)

    # -- public calls ------------------------------------------------------------------------------------
    def get(self, path: str, params: dict | None = None, headers: dict | None = None) -> dict:
        return self.request("GET", path, params=params, headers=headers)

    def post(self, path: str, json: dict, params: dict | None = None, headers: dict | None = None) -> dict:
        return self.request("POST", path, params=params, json=json, headers=headers)

    def put(self, path: str, json: dict, params: dict | None = None, headers: dict | None = None) -> dict:
        return self.request("PUT", path, params=params, json=json, headers=headers)

    def delete(self, path: str, headers: dict | None = None) -> dict:
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

    def delete_connection(self, xero_connection_id: str) -> None:
        """Remove this organisation's connection in Xero (DELETE /connections/{id}, Xero's connection id)."""
        self.request("DELETE", f"{self.settings.connections_url}/{xero_connection_id}")

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

        retrying = Retrying(retry=retry_if_exception_type(_Retry), stop=stop_after_attempt(self.max_attempts),
                            wait=self._wait, sleep=self.sleep, reraise=True)
        try:
            return retrying(attempt)
        except _Retry as exc:
            raise exc.error from None

    def _wait(self, retry_state) -> float:
        exc = retry_state.outcome.exception()
        if isinstance(exc, _Retry) and exc.wait is not None:
            return exc.wait
        return self._backoff(retry_state)

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
                error = XeroUnavailable(f"Xero did not answer ({type(exc).__name__}); try again shortly.")
                if repeatable:
                    log.warning("Xero %s %s: %s; retrying", method, url, type(exc).__name__)
                    raise _Retry(error) from None
                raise error from None
        self._observe(response)
        status = response.status_code
        if status < 300:
            return body_json(response)
        if status == 401 and not state["auth_retried"]:
            # Perhaps our token expired early: refresh once (skipping the token Xero refused) and try again.
            state["auth_retried"] = True
            state["stale_token"] = token
            raise _Retry(error_for(response), wait=0)
        if status == 429:
            limited = rate_limited(response)
            if limited.retry_after > self.max_retry_after:
                raise limited
            self.pacer.pause(limited.retry_after)
            log.warning("Xero %s limit hit; waiting %ss", limited.problem, limited.retry_after)
            raise _Retry(limited, wait=limited.retry_after)
        error = error_for(response)
        if isinstance(error, XeroAuthError):
            self.tokens.mark_needs_reconnect(self.connection_id, error.message)
            raise error
        if status >= 500 and repeatable:
            log.warning("Xero %s %s answered %s; retrying", method, url, status)
            raise _Retry(error)
        raise error

    def _observe(self, response: requests.Response) -> None:
        headers = response.headers
        self.rate = RateInfo(minute=_int(headers.get("X-MinLimit-Remaining")),
                             day=_int(headers.get("X-DayLimit-Remaining")),
                             app_minute=_int(headers.get("X-AppMinLimit-Remaining")))
        self.pacer.observe(headers)


def _int(value) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None

