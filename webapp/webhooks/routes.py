"""POST /webhooks/xero: verify Xero's signature, note what changed, answer at once with an empty body.

Xero signs the raw body (base64 HMAC-SHA256 with the app's webhook key, `x-xero-signature`) and expects a 200 within
5 seconds for a good signature and a 401 for a bad one (its intent-to-receive check sends both). No session, no
CSRF token: the signature is the authentication. The work is a Redis write and at most one enqueue per practice
(webapp.services.xero_webhooks); the refreshes run in the worker.
"""
import logging

from flask import Response, current_app, request

from webapp.extensions import csrf
from webapp.services import xero_webhooks
from webapp.webhooks import bp

log = logging.getLogger(__name__)


def _empty(status: int) -> Response:
    return Response(b"", status=status)


@bp.route("/xero", methods=["POST"])
@csrf.exempt
def xero():
    key = current_app.config.get("XERO_WEBHOOK_KEY")
    if not key:
        log.warning("A Xero webhook arrived but XERO_WEBHOOK_KEY is not set; refused")
        return _empty(401)
    if (request.content_length or 0) > xero_webhooks.MAX_BODY:
        return _empty(413)
    body = request.get_data(cache=False)
    if len(body) > xero_webhooks.MAX_BODY:
        return _empty(413)
    if not xero_webhooks.signature_ok(body, request.headers.get("x-xero-signature", ""), key):
        return _empty(401)
    try:
        xero_webhooks.receive(body)
    except xero_webhooks.BadPayload as problem:
        log.warning("A signed Xero webhook could not be read: %s", problem)
        return _empty(400)
    return _empty(200)
