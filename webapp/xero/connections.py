"""GET and DELETE /connections with a fresh access token, before a connection is stored (the connect flow).

These run in web requests, so the service passes a Budget (webapp.xero.budget) that bounds them."""
import logging
from dataclasses import dataclass

import requests

from webapp.xero.budget import TIMED_OUT, Budget, deadline_for, timeout_for
from webapp.xero.errors import XeroTimedOut, XeroUnavailable
from webapp.xero.http_errors import error_for, success_json
from webapp.xero.retry import RetryableFailure, call_with_retries
from webapp.xero.settings import XeroSettings

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 20


@dataclass(frozen=True)
class TenantConnection:
    """One organisation the user granted: Xero's connection id (for DELETE) and the tenant."""

    id: str
    tenant_id: str
    tenant_name: str
    tenant_type: str = "ORGANISATION"

    def as_dict(self) -> dict:
        return {"id": self.id, "tenant_id": self.tenant_id, "tenant_name": self.tenant_name,
                "tenant_type": self.tenant_type}


def _send(method: str, url: str, access_token: str, params=None, sleep=None,
          budget: Budget | None = None) -> requests.Response:
    """One call to /connections: 5xx and no answer are retried (3 tries), within `budget` when one is given."""
    def attempt():
        try:
            response = requests.request(method, url, params=params, timeout=timeout_for(budget, HTTP_TIMEOUT),
                                        headers={"Authorization": f"Bearer {access_token}",
                                                 "Accept": "application/json"})
        except requests.Timeout:
            raise RetryableFailure(XeroTimedOut(f"{TIMED_OUT}; try again shortly.")) from None
        except requests.ConnectionError as exc:
            raise _unreachable(type(exc).__name__) from None
        if response.status_code >= 500:
            raise _unreachable(f"HTTP {response.status_code}")
        return response

    return call_with_retries(attempt, attempts=3, backoff_multiplier=0.5, backoff_max=5,
                             deadline=deadline_for(budget), sleep=sleep)


def _unreachable(reason: str) -> RetryableFailure:
    return RetryableFailure(XeroUnavailable(f"Xero could not be reached ({reason}); try again shortly."))


def list_connections(settings: XeroSettings, access_token: str, auth_event_id: str | None = None,
                     sleep=None, budget: Budget | None = None) -> list[TenantConnection]:
    """The organisations this token may use; with `auth_event_id`, only those granted in that sign-in. A row without
    a usable id and tenantId is left out (and logged)."""
    params = {"authEventId": auth_event_id} if auth_event_id else None
    response = _send("GET", settings.connections_url, access_token, params=params, sleep=sleep, budget=budget)
    if response.status_code >= 300:
        raise error_for(response)
    rows = success_json(response)
    found = []
    for row in rows if isinstance(rows, list) else []:
        organisation = _organisation(row)
        if organisation is None:
            log.warning("Xero's connections listing had a row Socket could not read; it was left out")
        elif organisation.tenant_type == "ORGANISATION":
            found.append(organisation)
    return found


def _id(value) -> str | None:
    return value if isinstance(value, str) and value and len(value) <= 36 and "\x00" not in value else None


def _organisation(row) -> TenantConnection | None:
    """One row of the listing as Socket stores it, or None when it has no usable id and tenantId."""
    if not isinstance(row, dict) or not _id(row.get("id")) or not _id(row.get("tenantId")):
        return None
    name, kind = row.get("tenantName"), row.get("tenantType", "ORGANISATION")
    name = name.replace("\x00", "").strip()[:200] if isinstance(name, str) else ""
    return TenantConnection(id=row["id"], tenant_id=row["tenantId"], tenant_name=name,
                            tenant_type=kind if isinstance(kind, str) else "")


def delete_connection(settings: XeroSettings, access_token: str, connection_id: str, sleep=None,
                      budget: Budget | None = None) -> None:
    """Remove one granted organisation (Xero's connection id). Already gone (404) counts as done."""
    response = _send("DELETE", f"{settings.connections_url}/{connection_id}", access_token, sleep=sleep,
                     budget=budget)
    if response.status_code >= 300 and response.status_code != 404:
        raise error_for(response)
