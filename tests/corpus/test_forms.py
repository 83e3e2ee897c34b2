"""The bad-input corpus over every form: generated posts never make a 5xx, and a refused one changes nothing.

Each route that takes a POST (tests/test_form_errors.py's FORMS, which fails when one is missing; and the check
below, which fails when the corpus misses one) is posted by a signed-in owner, as a browser and with htmx, with its
payload mutated (tests/corpus/bad_values.py). Properties:
  - never a 5xx (but the 503 that says Xero did not answer when a contact is created there);
  - a refused post (a 4xx, a page showing an error, a redirect flashing one) shows the error and leaves every
    stored row as it was; an accepted one never touches another practice's rows (and is undone for the next example);
  - another practice's id, or one that does not exist, in the path is a 404 and changes nothing;
  - a post without a valid CSRF token is refused (400) and changes nothing.
"""
from __future__ import annotations

import re
import unicodedata
import uuid
from types import SimpleNamespace

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict

from tests.corpus.bad_values import mutated, nasty_text
from tests.corpus.db_state import (
    changed_tables,
    cross_practice_links,
    differences,
    new_rows,
    of_practice,
    require_postgresql,
    restore,
    snapshot,
)
from tests.corpus.form_book import judge, make_book
from tests.factories import PASSWORD_HASH, TENANT_ID, make_practice
from tests.helpers import HTMX, approve_form, forget_redis_keys, login, route_methods
from tests.hypothesis_corpus import examples
from tests.test_form_errors import BILLING, FORMS
from webapp.clients.routes import VALIDATED_FIELDS
from webapp.clock import this_month
from webapp.forms import INVISIBLE, MULTILINE_CONTROL
from webapp.queue import get_queue
from webapp.services.billing.cadence import add_months

CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Posted by tests/corpus/test_webhook_bodies.py: no session, no CSRF token, its own signature.
ELSEWHERE = {"webhooks.xero"}
PRACTICE = {"name": "Acme", "time_zone": "Europe/London", "nightly_sync_at": "02:00", "primary_crm": "socket",
            "crm_import_scope": "customers"}
# The settings tabs save one control at a time with htmx (HX-Source names it, webapp/settings/inline.py).
INLINE = {"settings.billing_save": BILLING, "settings.practice_save": PRACTICE}
PAYLOADS = {endpoint: dict(payload) for endpoint, (_, payload, _) in FORMS.items()}
PAYLOADS["settings.practice_save"] = PRACTICE
# Fields the forms send beside what FORMS lists, read by the routes too: where to go back to, the Billing Plan's
# filter and page, which kind of sync; and the owner's mirrored contact to link to (FORMS names none).
BESIDES = {
    "contacts.link": {"contact_id": "{contact}", "context": "review", "next": "/contacts/review"},
    **{endpoint: {"context": "client", "next": "/clients/{client}"} for endpoint in (
        "contacts.unlink", "contacts.rematch", "contacts.create_contact", "contacts.dismiss_sync_issue")},
    "contacts.create_missing": {"next": "/billing/plan"},
    "billing.approve": {"change": "", "q": "", "sort": "", "page": "1"},
    "billing.post_to_xero": {"change": "new", "q": "Abbott", "sort": "name", "page": "1"},
    "settings.xero_sync": {"trigger": "manual", "show": "run"},
}
for endpoint, fields in BESIDES.items():
    PAYLOADS[endpoint].update(fields)
CLOSED_PORT = "http://127.0.0.1:9"  # Xero, as far as these posts can tell: nothing answers
# The one deliberate 5xx: creating a contact when Xero did not answer says so with a 503 (and stores nothing).
XERO_DID_NOT_ANSWER = {"contacts.create_contact": 503}


def test_every_route_that_changes_something_is_in_the_corpus(app):
    changing = {rule.endpoint for rule in app.url_map.iter_rules() if CHANGING & set(route_methods(rule))}
    assert changing - ELSEWHERE <= set(FORMS), f"add {sorted(changing - ELSEWHERE - set(FORMS))} to FORMS"
    assert "POST" in CHANGING and set(FORMS) <= changing


class Books:
    """The signed-in owner's ids and a rival practice's, the values FORMS's payloads name, and the state both
    start each example from."""

    def __init__(self, app, owner, rival):
        self.app = app
        # Plain values: every example's snapshot ends the test's session, and its objects with it.
        self.owner = SimpleNamespace(email=owner.email, practice_id=owner.practice_id)
        self.rival = SimpleNamespace(email=rival.email, practice_id=rival.practice_id)
        self.own = make_book(owner.practice_id, TENANT_ID)
        self.theirs = make_book(rival.practice_id, str(uuid.uuid4()))
        month = f"{add_months(this_month('Europe/London'), -1):%Y-%m}"
        self.values = {**self.own, "email": owner.email, "month": month, **approve_form(owner.practice_id, month)}
        self.state = snapshot()

    def fill(self, text: str, ids=None) -> str:
        return text.format_map({**self.values, **(ids or {})})

    def payload(self, endpoint: str) -> dict[str, str]:
        return {name: self.fill(value) for name, value in PAYLOADS[endpoint].items()}

    def path(self, endpoint: str, ids=None) -> str:
        return self.fill(FORMS[endpoint][0], ids)


@pytest.fixture(scope="module")
def corpus_books(app):
    """Made once for the module: each test puts them back (the suite empties the tables after every test)."""
    with app.app_context():
        require_postgresql()
        return Books(app, make_practice(), make_practice(name="Rival & Co"))


@pytest.fixture
def books(app, app_ctx, client, corpus_books, monkeypatch):
    """The two practices' books as made, the owner signed in, Xero unreachable (and given up on at once), and a
    choice of organisation waiting."""
    for name in ("XERO_API_URL", "XERO_IDENTITY_URL", "XERO_LOGIN_URL"):
        monkeypatch.setitem(app.config, name, CLOSED_PORT)
    monkeypatch.setitem(app.config, "XERO_WEB_BUDGET", 0.2)
    monkeypatch.setitem(app.config, "XERO_WEB_CLEANUP_BUDGET", 0.1)
    monkeypatch.setattr("webapp.xero.retry._real_sleep", lambda seconds: None)
    organisation = SimpleNamespace(id="conn-a", tenant_name="Acme Ltd", tenant_id="t-a")
    monkeypatch.setattr("webapp.services.xero_connection.pending_choices", lambda *args: [organisation])
    with app.app_context():
        restore(corpus_books.state)
    _sign_in_again(corpus_books, client)
    yield corpus_books
    get_queue(app.config).empty()
    forget_redis_keys(app, "xero:*")  # the sign-ins Connect to Xero started, and their pacing


def _sign_in_again(books, client) -> None:
    with client.session_transaction() as session:
        session.clear()
    with books.app.app_context():  # not the test's, where Flask-Login still has the user signed in
        login(client, books.owner)


def _post(books, client, endpoint, path, pairs, htmx: bool, source: str | None = None, csrf=True):
    if endpoint == "settings.xero_select":
        with client.session_transaction() as session:
            session["xero_pending"] = "pending-1"
    headers = dict(HTMX) if htmx or source else {}
    if source:
        headers["HX-Source"] = source
    # A request made inside the test's app context would share its `g` (and the user Flask-Login cached there, from
    # a session a snapshot has since closed): each post gets an app context of its own, as in production.
    with books.app.app_context():
        return client.post(path, data=MultiDict(pairs), headers=headers, csrf=csrf)


def _check_and_undo(books, client, endpoint, response, before, described):
    """The properties every post must keep; afterwards the database is put back as `before` had it."""
    status = response.status_code
    assert status < 500 or status == XERO_DID_NOT_ANSWER.get(endpoint), f"{described} answered {status}"
    outcome = judge(client, response)
    event(f"{response.status_code} {'refused' if outcome.refused else 'accepted'}")
    after = snapshot()
    if outcome.refused:
        assert outcome.shown, f"{described} was refused ({response.status_code}) and showed no error"
        assert not differences(before, after), f"{described} was refused and changed {differences(before, after)}"
    else:
        theirs = books.rival.practice_id
        assert of_practice(after, theirs) == of_practice(before, theirs), f"{described} changed the rival's rows"
        assert not unclean_text(before, after), f"{described} stored {unclean_text(before, after)}"
        links = cross_practice_links(after, new_rows(before, after))
        assert not links, f"{described} linked a row to another practice's: {links}"
        broken = [f"{table}: {rule}" for table, row in new_rows(before, after)
                  for rule, holds in RULES.get(table, {}).items() if not holds(row)]
        assert not broken, f"{described} stored a row the forms refuse: {broken}"
    if after != before:
        restore(before, changed_tables(before, after))
    if not outcome.refused and endpoint.startswith("auth."):
        _sign_in_again(books, client)
    return outcome


# What the forms promise of what they store, where no database constraint says it (a client's day and terms do).
RULES = {
    "services": {"a price above £0": lambda row: row["price"] > 0},
    "engagements": {"a price above £0": lambda row: row["price"] is None or row["price"] > 0,
                    "no end before its start": lambda row: row["end_date"] is None
                    or row["end_date"] >= row["start_date"]},
    "billing_settings": {"an invoice day from 1 to 28": lambda row: 1 <= row["invoice_day"] <= 28,
                         "payment terms from 0 to 120 days": lambda row: 0 <= row["payment_terms_days"] <= 120},
}


def unclean_text(before, after) -> list[str]:
    """Text an accepted post stored that webapp/forms.py says no form lets through: control characters (but a
    textarea's tabs and line breaks), invisible ones, or text not in NFC."""
    found = []
    for table, row in new_rows(before, after):
        for column, value in row.items():
            if isinstance(value, str) and (MULTILINE_CONTROL.search(value) or INVISIBLE.search(value)
                                           or unicodedata.normalize("NFC", value) != value):
                found.append(f"{table}.{column} = {value[:80]!r}")
    return found


# --- every form, mutated ----------------------------------------------------------------------------------------

ENDPOINTS = sorted(set(FORMS) - {"auth.login"})


# Routes whose path says what to do: the inline check of each client field (new client or existing), and ones
# that are no field.
PATHS = {"clients.validate_field": st.sampled_from(
    [f"/clients/{{client}}/validate/{name}" for name in VALIDATED_FIELDS]
    + [f"/clients/validate/{name}" for name in ("name", "code", "email", "invoice_day")]
    + ["/clients/{client}/validate/practice_id", "/clients/validate/csrf_token", "/clients/validate/%C3%A9"])}


def _sources(endpoint):
    """What htmx names as the control that changed: none, each of the tab's controls, a radio, one not there."""
    if endpoint not in INLINE:
        return st.none()
    return st.sampled_from([None, "input#nope", "input#primary_crm-1", *(f"input#{name}" for name in INLINE[endpoint])])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@examples(6)
@given(data=st.data())
def test_a_mutated_post_is_never_a_5xx_and_a_refused_one_changes_nothing(books, client, endpoint, data):
    pairs = data.draw(mutated(books.payload(endpoint), books.own, books.theirs), label="pairs")
    htmx, source = data.draw(st.booleans(), label="htmx"), data.draw(_sources(endpoint), label="HX-Source")
    path = books.fill(data.draw(PATHS.get(endpoint, st.just(FORMS[endpoint][0])), label="path"))
    before = snapshot()
    response = _post(books, client, endpoint, path, pairs, htmx, source)
    _check_and_undo(books, client, endpoint, response, before, f"{endpoint} {pairs!r:.300} htmx={htmx} {source}")


@pytest.fixture
def cheap_unknown_email(monkeypatch):
    """An unknown email is checked against a hash made as production makes them (scrypt, a tenth of a second, so
    timing does not tell who has an account); the corpus's users have a one-round hash (tests/factories.py), and so
    does this."""
    monkeypatch.setattr("webapp.auth.routes._dummy_hash", PASSWORD_HASH)


@examples(20)
@given(pairs=mutated({"email": "{email}", "password": "correct horse battery"}, {}, {}), htmx=st.booleans())
def test_a_mutated_sign_in_is_never_a_5xx_and_signs_no_one_in(books, app, cheap_unknown_email, pairs, htmx):
    before = snapshot()
    anonymous = app.test_client()
    pairs = [(name, books.fill(value) if value == "{email}" else value) for name, value in pairs]
    response = _post(books, anonymous, "auth.login", "/login", pairs, htmx)
    forget_redis_keys(app, "login-failures:*")
    assert response.status_code < 500
    outcome = judge(anonymous, response)
    posted = MultiDict(pairs)
    if posted.get("email") == books.owner.email and posted.get("password") == "correct horse battery":
        return
    assert outcome.refused and outcome.shown and 400 <= response.status_code < 500  # 413: a body over the limit
    with anonymous.session_transaction() as session:
        assert "_user_id" not in session
    assert not differences(before, snapshot())


# --- another practice's ids, and ids that do not exist ---------------------------------------------------------

PLACEHOLDER = re.compile(r"{(\w+)}")
WITH_IDS = sorted(endpoint for endpoint in ENDPOINTS if PLACEHOLDER.search(FORMS[endpoint][0]))


@examples(36)
@given(data=st.data())
def test_another_practices_id_in_the_path_is_a_404_and_changes_nothing(books, client, data):
    endpoint = data.draw(st.sampled_from(WITH_IDS), label="endpoint")
    names = PLACEHOLDER.findall(FORMS[endpoint][0])
    swapped = data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True), label="swapped")
    missing = data.draw(st.sampled_from(["theirs", "theirs", 999999999, 2 ** 31, 2 ** 63]), label="instead")
    ids = {name: books.theirs[name] if missing == "theirs" else missing for name in swapped}
    htmx = data.draw(st.booleans(), label="htmx")
    before = snapshot()
    # The payload that would succeed with the owner's own ids (a mutated one may be refused before the id is read).
    response = _post(books, client, endpoint, books.path(endpoint, ids), books.payload(endpoint).items(), htmx)
    assert response.status_code == 404, f"{endpoint} with {ids} answered {response.status_code}"
    outcome = judge(client, response)
    assert outcome.shown, f"{endpoint} with {ids}: a 404 that says nothing"
    assert not differences(before, snapshot()), f"{endpoint} with {ids} changed {differences(before, snapshot())}"


# --- the CSRF token ----------------------------------------------------------------------------------------------

def _bad_tokens(app):
    """No token, or one that is not this session's: garbage, signed for another session, signed with another key."""
    ours = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
    theirs = URLSafeTimedSerializer("another-secret-key", salt="wtf-csrf-token")
    return st.sampled_from([None, "", "null", ours.dumps("another-session-secret"), theirs.dumps("x")]) | nasty_text


@examples(24)
@given(data=st.data())
def test_a_post_without_this_sessions_csrf_token_is_refused_and_changes_nothing(books, client, app, data):
    endpoint = data.draw(st.sampled_from(sorted(FORMS)), label="endpoint")
    token = data.draw(_bad_tokens(app), label="token")
    where = data.draw(st.sampled_from(["form", "header"]), label="sent in")
    pairs = list(books.payload(endpoint).items())
    headers = dict(HTMX) if data.draw(st.booleans(), label="htmx") else {}
    if token is not None:
        if where == "form":
            pairs.append(("csrf_token", token))
        else:
            headers["X-CSRFToken"] = "".join(c for c in token if c.isprintable() and c.isascii())
    poster = app.test_client() if endpoint == "auth.login" else client
    before = snapshot()
    with app.app_context():
        response = poster.post(books.path(endpoint), data=MultiDict(pairs), headers=headers, csrf=False)
    assert response.status_code == 400, f"{endpoint} with token {token!r} answered {response.status_code}"
    assert judge(poster, response).shown
    assert not differences(before, snapshot())
