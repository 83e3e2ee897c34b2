"""Webhooks: CONTACT and INVOICE CREATE/UPDATE events, queued on every change and delivered signed like Xero's."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import string

import requests


def queue_event(db, tenant_id: str, category: str, event_type: str, resource_id: str, now_ms: int) -> None:
    """Queue one event (in the caller's transaction) for the next delivery."""
    db.execute("INSERT INTO webhook_events (tenant_id, category, event_type, resource_id, event_ms)"
               " VALUES (?,?,?,?,?)", (tenant_id, category, event_type, resource_id, now_ms))


def signature(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def _entropy() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))


def _event_date(ms: int) -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def payload(events: list[dict], base_url: str) -> dict:
    base = base_url.rstrip("/")
    out = []
    for e in events:
        resource = "Contacts" if e["category"] == "CONTACT" else "Invoices"
        out.append({"resourceUrl": f"{base}/api.xro/2.0/{resource}/{e['resource_id']}",
                    "resourceId": e["resource_id"], "eventDateUtc": _event_date(e["event_ms"]),
                    "eventType": e["event_type"], "eventCategory": e["category"], "tenantId": e["tenant_id"],
                    "tenantType": "ORGANISATION"})
    return {"events": out,
            "firstEventSequence": events[0]["seq"] if events else 0,
            "lastEventSequence": events[-1]["seq"] if events else 0,
            "entropy": _entropy()}


def post(url: str, key: str, body_obj: dict, bad_signature: bool = False, timeout: float = 5.0):
    body = json.dumps(body_obj, separators=(",", ":")).encode("utf-8")
    sig = signature(body, key if not bad_signature else key + "-wrong")
    try:
        r = requests.post(url, data=body, timeout=timeout,
                          headers={"Content-Type": "application/json", "x-xero-signature": sig,
                                   "User-Agent": "Xero-Webhooks (sandbox)"})
        return r.status_code, r.text
    except requests.RequestException as e:
        return None, str(e)


def deliver(sandbox, base_url: str) -> dict:
    url = sandbox.settings.get("SANDBOX_WEBHOOK_URL")
    key = sandbox.settings.get("SANDBOX_WEBHOOK_KEY") or ""
    store = sandbox.store
    rows = [dict(r) for r in store.query(
        "SELECT e.* FROM webhook_events e WHERE e.delivered = 0 AND EXISTS"
        " (SELECT 1 FROM connections c WHERE c.tenant_id = e.tenant_id AND c.client_id = ?) ORDER BY seq",
        (sandbox.client_id,))]
    if not url:
        return {"delivered": 0, "pending": len(rows), "error": "SANDBOX_WEBHOOK_URL is not set"}
    if not rows:
        return {"delivered": 0, "pending": 0, "status": None}
    status, text = post(url, key, payload(rows, base_url))
    if status == 200:
        with store.tx() as db:
            db.executemany("UPDATE webhook_events SET delivered=1 WHERE seq=?", [(r["seq"],) for r in rows])
        return {"delivered": len(rows), "pending": 0, "status": status}
    return {"delivered": 0, "pending": len(rows), "status": status, "error": text[:500]}


def intent_to_receive(sandbox) -> dict:
    """Xero's check: a correctly signed empty batch must get 200, a wrongly signed one 401, both empty."""
    url = sandbox.settings.get("SANDBOX_WEBHOOK_URL")
    key = sandbox.settings.get("SANDBOX_WEBHOOK_KEY") or ""
    if not url:
        return {"ok": False, "error": "SANDBOX_WEBHOOK_URL is not set"}
    empty = payload([], "")
    good_status, good_body = post(url, key, empty)
    bad_status, bad_body = post(url, key, payload([], ""), bad_signature=True)
    ok = good_status == 200 and bad_status == 401 and good_body == "" and bad_body == ""
    return {"ok": ok, "signed_status": good_status, "bad_signature_status": bad_status,
            "bodies_empty": good_body == "" and bad_body == ""}
