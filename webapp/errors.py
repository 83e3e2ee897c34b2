"""How Socket answers when a request cannot be served: a page for a browser, a small alert for htmx.

htmx 4 swaps every response but 204/304, so an error page sent to an htmx request would be swapped into a
select or a table row. For htmx requests the error is a fragment retargeted to the layout's alert region,
leaving the page as it was; a signed-out htmx request is sent to the login page with HX-Redirect.
"""
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.routing import IntegerConverter

from webapp.htmx import is_htmx_request

ALERT_REGION = "#htmx-alerts"
MESSAGES = {
    400: "Socket could not read that request. Reload the page and try again.",
    403: "Only the practice's owner or an admin can do that.",
    404: "That page does not exist.",
    405: "That action is not available here.",
    500: "Something went wrong on our side and nothing was changed. Please try again; if it keeps happening, "
         "tell us what you were doing.",
}
CSRF_MESSAGE = "Your session expired or the form was stale. Reload the page and try again."
TOO_LARGE_MESSAGE = ("That was more than Socket accepts in one request ({limit}), so nothing was saved. "
                     "Shorten what you entered and try again.")


def _at_most(limit: int) -> str:
    """A regex for the numbers 0 to `limit` (at least two digits) written in decimal: those with fewer digits, and
    those with as many that are below it at the first digit where they differ, and `limit` itself."""
    digits = str(limit)
    below = [f"{digits[:i]}[{0 if i else 1}-{int(digit) - 1}]\\d{{{len(digits) - i - 1}}}"
             for i, digit in enumerate(digits) if int(digit) > (0 if i else 1)]
    return "|".join([f"\\d{{1,{len(digits) - 1}}}", *below, digits])


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` limited to what an id column holds, so /clients/99999999999999999999 is a 404, not a 500.

    The limit is in the regex, not only in the range check: Werkzeug checks a rule's methods before its converter,
    so a path two rules share (GET and POST on /clients/<id>/engagements) would answer 405 for a POST."""

    regex = _at_most(2**31 - 1)

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def error_response(code: int, message: str):
    """The error as a page, or as an alert fragment retargeted for htmx (with Vary: HX-Request)."""
    if is_htmx_request():
        response = make_response(render_template("errors/_alert.html", code=code, message=message), code)
        response.headers["HX-Retarget"] = ALERT_REGION
        response.headers["HX-Reswap"] = "innerHTML"
    else:
        response = make_response(render_template("errors/error.html", code=code, message=message), code)
    response.vary.add("HX-Request")
    return response


def too_large_message() -> str:
    """The 413's message, naming the limit (MAX_CONTENT_LENGTH) in the unit it was set in."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    for unit, size in (("MB", 1024 * 1024), ("kB", 1024)):
        if limit >= size and limit % size == 0:
            return TOO_LARGE_MESSAGE.format(limit=f"{limit // size} {unit}")
    return TOO_LARGE_MESSAGE.format(limit=f"{limit:,} bytes")


def reject_nul_bytes():
    """PostgreSQL refuses NUL in text; no form or query of ours has a use for one, so refuse it up front."""
    values = list(request.args.values())
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += list(request.form.values())
    if any("\x00" in value for value in values):
        abort(400)


def register_error_handling(app: Flask) -> None:
    app.url_map.converters["int"] = DatabaseIdConverter
    app.before_request(reject_nul_bytes)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_response(400, CSRF_MESSAGE)

    for code in (400, 403, 404, 405):
        app.register_error_handler(code, lambda error, code=code: error_response(code, MESSAGES[code]))

    @app.errorhandler(413)
    def too_large(error):
        # A body over MAX_CONTENT_LENGTH, found when the form is first read (the CSRF check, before any view).
        return error_response(413, too_large_message())

    @app.errorhandler(500)
    def server_error(error):
        return error_response(500, MESSAGES[500])


def unauthorized():
    """Flask-Login's handler: a redirect to sign in; for htmx, HX-Redirect so the whole page goes there."""
    if is_htmx_request():
        response = make_response("", 401)
        response.headers["HX-Redirect"] = url_for("auth.login", next=_current_path())
        response.vary.add("HX-Request")
        return response
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _current_path() -> str:
    """The page the user is on (htmx sends it), so signing in again returns there, not to a fragment URL."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    return (current.path + ("?" + current.query if current.query else "")) or "/"
