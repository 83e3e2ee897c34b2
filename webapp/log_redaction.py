"""Keep secrets in URLs out of the logs.

Xero's redirect back to Socket carries the one-time OAuth `code` and the `state` in its query string
(`/settings/integrations/xero/callback?code=...&state=...`), and web servers log request lines whole. Here:

- `redact_query` / `redact_text`: the values of secret-looking query parameters become REDACTED, and so does any
  password hash (SQLAlchemy's log shows the users table's rows at DEBUG, and a new hash in its INSERT parameters);
- `RedactingFilter`: a logging filter applying `redact_text` to a record's message (and its traceback text);
- `install_log_redaction()`: puts the filter on werkzeug's logger (the dev server's request log) and on the
  root logger's handlers (whatever Socket logs); create_app calls it after configuring logging;
- `RedactingGunicornLogger`: gunicorn's logger with the request-line atoms of the access log (`%(r)s`,
  `%(q)s`, `%(U)s`, `%(f)s` and the `{...}i`/`{...}e` atoms) redacted, and the filter on its error log
  (a killed worker logs "Error handling request GET /...?code=..."). The Procfile selects it with
  `--logger-class webapp.log_redaction.RedactingGunicornLogger`.
"""
import logging
import re

from gunicorn.glogging import Logger as GunicornLogger

REDACTED = "REDACTED"

# Parameter names whose values are secrets: the OAuth ones exactly, and anything naming a token or a secret.
SECRET_NAMES = frozenset({"code", "state", "session_state", "code_verifier", "id_token", "client_secret",
                          "password", "key", "signature", "sig", "otp"})
SECRET_PARTS = ("token", "secret", "password", "verifier", "signature", "api_key", "apikey")

# name=value after "?" or "&" (or "&amp;"), in any text: a request line, a URL, a message.
_PAIR = re.compile(r"(?P<lead>[?&;]|&amp;)(?P<name>[^=&;?#|,\s\"'<>]+)=(?P<value>[^&;#|,\s\"'<>]*)")
# A werkzeug password hash: method[:params]$salt$hex digest (generate_password_hash).
_PASSWORD_HASH = re.compile(r"\b(?:scrypt|pbkdf2)(?::\w+)*\$[A-Za-z0-9]+\$[0-9a-f]+")


def is_secret(name: str) -> bool:
    name = name.lower()
    return name in SECRET_NAMES or any(part in name for part in SECRET_PARTS)


def _redact_pair(match: re.Match) -> str:
    if not is_secret(match["name"]) or not match["value"]:
        return match[0]
    return f"{match['lead']}{match['name']}={REDACTED}"


def redact_text(text: str) -> str:
    """`text` with the value of every secret-looking query parameter (after ? or &), and every password hash,
    replaced by REDACTED."""
    if "$" in text:
        text = _PASSWORD_HASH.sub(REDACTED, text)
    if "=" not in text:
        return text
    return _PAIR.sub(_redact_pair, text)


def redact_query(query: str) -> str:
    """A bare query string (`code=...&state=...`, no `?`) with the secret values replaced by REDACTED."""
    if not query:
        return query
    return redact_text("?" + query)[1:]


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (formatted with its arguments) and traceback text with `redact_text`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem to report, not ours
            return True
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def _add_filter_once(target: logging.Filterer) -> None:
    if not any(isinstance(existing, RedactingFilter) for existing in target.filters):
        target.addFilter(RedactingFilter())


def install_log_redaction() -> None:
    """Redact werkzeug's request log (the development server's "GET /...?code=... HTTP/1.1" lines), and what
    the root logger's handlers write (everything Socket logs). Safe to call more than once."""
    _add_filter_once(logging.getLogger("werkzeug"))
    for handler in logging.getLogger().handlers:
        _add_filter_once(handler)


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger, with secret query values redacted in the access log and the error log."""

    URI_ATOMS = ("r", "U", "f")

    def setup(self, cfg) -> None:
        super().setup(cfg)
        _add_filter_once(self.error_log)  # the access log is redacted atom by atom (below)

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in self.URI_ATOMS:
            if isinstance(atoms.get(name), str):
                atoms[name] = redact_text(atoms[name])
        if isinstance(atoms.get("q"), str):
            atoms["q"] = redact_query(atoms["q"])
        for name, value in atoms.items():
            if name.startswith("{") and isinstance(value, str):
                atoms[name] = redact_query(value) if name == "{query_string}e" else redact_text(value)
        return atoms

