"""A form posted without a field it needs says what is wrong, where the user can see it: never a silent 422.

Walked over every route that takes a POST: each is listed below with a payload that would succeed and the fields it
cannot do without. Each field (and the CSRF token) is removed in turn, from a browser post and from an htmx post;
the answer must then show an error message the user can see — beside a field, in the form's error summary ("There
is a problem"), in the alert region (htmx), on the error page, or as a flash on the page a redirect leads to. A
required field's removal must never succeed; an optional one may.
"""
from datetime import date
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from tests.factories import (
    batched,
    make_account,
    make_client,
    make_completion,
    make_connection,
    make_engagement,
    make_invoice,
    make_menu,
    make_service,
    make_sync_issue,
    make_theme,
)
from tests.helpers import HTMX, approve_form, login, route_methods
from webapp.clock import this_month
from webapp.models import BillingMethod
from webapp.services.billing.cadence import add_months

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
MESSAGE_CLASSES = {"field-error", "error-summary", "flash-error", "error-message"}


class VisibleErrors(HTMLParser):
    """The text of every error message a user can see: elements with one of MESSAGE_CLASSES, outside anything
    hidden (a closed <details> or <dialog>, [hidden], <template>, .visually-hidden, a hidden input)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, hides what is inside, is a message)
        self.messages: list[str] = []
        self._text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        attributes = dict(attrs)
        classes = set((attributes.get("class") or "").split())
        hides = ("hidden" in attributes or tag == "template" or "visually-hidden" in classes
                 or (tag in ("details", "dialog") and "open" not in attributes))
        self.stack.append((tag, hides, bool(classes & MESSAGE_CLASSES)))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                was_message = any(message for _, _, message in self.stack[index:])
                del self.stack[index:]
                if was_message and not any(message for _, _, message in self.stack):
                    text = " ".join(" ".join(self._text).split())
                    if text:
                        self.messages.append(text)
                    self._text = []
                return

    def handle_data(self, data):
        if any(message for _, _, message in self.stack) and not any(hides for _, hides, _ in self.stack):
            self._text.append(data)


def visible_errors(html: str) -> list[str]:
    return VisibleErrors(html).messages


def test_the_parser_sees_only_what_is_shown():
    html = ('<p class="flash flash-error">Shown</p><details><small class="field-error">Folded away</small></details>'
            '<details open><div class="error-summary"><h2>There is a problem</h2><a href="#x">Fix x</a></div>'
            '</details><small class="field-error" hidden>Hidden</small><input type="hidden">'
            '<small class="field-hint">Hint</small>')
    assert visible_errors(html) == ["Shown", "There is a problem Fix x"]


# --- what each route posts ----------------------------------------------------------------------------------

CLIENT = {"name": "Carter and Price LLP", "code": "CAR01", "email": "partners@carterprice.co.uk",
          "phone": "0113 496 0000", "address_line": "1 Park Row", "city": "Leeds", "postcode": "LS1 5AB",
          "company_number": "OC301122", "vat_number": "GB123456789", "consolidate_recurring": "",
          "consolidate_one_off": "one", "branding_theme_id": "t-standard", "invoice_day": "28",
          "payment_terms_days": "30"}
CLIENT_REQUIRED = {"name", "code", "consolidate_recurring", "consolidate_one_off", "branding_theme_id", "invoice_day",
                   "payment_terms_days"}
SERVICE = {"name": "Payroll", "description": "Monthly payroll", "billing_method": "monthly", "price": "120"}
ENGAGEMENT = {"service_id": "{service}", "price": "99.50", "start_date": "2026-01-01", "end_date": ""}
BILLING = {"consolidate_recurring": "consolidated", "consolidate_one_off": "itemised", "invoice_day": "15",
           "payment_terms_days": "30", "xero_post_status": "AUTHORISED", "branding_theme_id": "t-standard",
           "create_missing_contacts": "y", "monthly_billing": "automatic"}
BILLING_REQUIRED = {"consolidate_recurring", "consolidate_one_off", "invoice_day", "payment_terms_days",
                    "xero_post_status", "create_missing_contacts", "monthly_billing"}

# endpoint -> (path, payload that would succeed, the fields it cannot do without); "{name}" is filled from the
# `book` fixture. Every route that takes a POST must be here: a new one fails the walk below until listed.
FORMS: dict[str, tuple[str, dict, set]] = {
    "auth.login": ("/login", {"email": "{email}", "password": "correct horse battery"}, {"email", "password"}),
    "auth.logout": ("/logout", {}, set()),
    "auth.sign_out_other_sessions": ("/sessions/sign-out-others", {"next": "/billing/plan"}, set()),
    "clients.new": ("/clients/new", CLIENT, CLIENT_REQUIRED),
    "clients.detail": ("/clients/{client}", CLIENT, CLIENT_REQUIRED),
    "clients.validate_field": ("/clients/{client}/validate/code", CLIENT, {"code"}),
    "clients.archive": ("/clients/{client}/archive", {"next": "/clients/"}, set()),
    "clients.unarchive": ("/clients/{client}/unarchive", {"next": "/clients/"}, set()),
    "clients.add_engagement": ("/clients/{client}/engagements", ENGAGEMENT, {"service_id", "start_date"}),
    "clients.update_engagement": ("/clients/{client}/engagements/{engagement}", ENGAGEMENT,
                                  {"service_id", "start_date"}),
    "clients.end_engagement": ("/clients/{client}/engagements/{engagement}/end", {"end_date": "2026-12-31"},
                               {"end_date"}),
    "clients.complete_engagement": ("/clients/{client}/engagements/{one_off}/complete",
                                    {"completed_on": "2026-01-15"}, {"completed_on"}),
    "clients.undo_completion": ("/clients/{client}/engagements/{one_off}/completions/{completion}/undo", {}, set()),
    "contacts.link": ("/contacts/clients/{client}/link", {"contact_id": "not-a-contact"}, {"contact_id"}),
    "contacts.unlink": ("/contacts/clients/{client}/unlink", {}, set()),
    "contacts.rematch": ("/contacts/clients/{client}/rematch", {}, set()),
    "contacts.create_contact": ("/contacts/clients/{client}/create", {}, set()),
    "contacts.create_missing": ("/contacts/create-missing", {"client_id": "{client}"}, {"client_id"}),
    "contacts.dismiss_sync_issue": ("/contacts/clients/{client}/sync-issues/{sync_issue}/dismiss", {}, set()),
    "pricing.create_menu": ("/pricing/menus", {"name": "2027/28 Pricing"}, {"name"}),
    "pricing.rename_menu": ("/pricing/menus/{menu}/rename", {"name": "Renamed"}, {"name"}),
    "pricing.activate_menu": ("/pricing/menus/{draft_menu}/activate", {}, set()),
    "pricing.add_service": ("/pricing/menus/{menu}/services", SERVICE, {"name", "billing_method", "price"}),
    "pricing.update_service": ("/pricing/services/{service}", SERVICE, {"name", "billing_method", "price"}),
    "pricing.delete_service": ("/pricing/services/{unused_service}/delete", {}, set()),
    "pricing.save_account_code": ("/pricing/services/{service}/account-code", {"account_code": "200"},
                                  {"account_code"}),
    # Last month: its invoice day has always passed, so approving needs the date chosen (the day, or today).
    "billing.post_to_xero": ("/billing/plan/post", {"month": "{month}"}, {"month"}),
    "billing.retry_xero_posting": ("/billing/invoices/{invoice}/retry", {"context": "invoice"}, set()),
    "billing.approve": ("/billing/plan/approve", {"month": "{month}", "fingerprint": "{fingerprint}",
                                                  "invoice_date": "{invoice_date}"},
                        {"month", "fingerprint", "invoice_date"}),
    "settings.billing_save": ("/settings/billing", BILLING, BILLING_REQUIRED),
    "settings.practice_save": ("/settings/practice", {"name": "Acme", "time_zone": "Europe/London",
                                                      "primary_crm": "socket"}, {"name", "time_zone", "primary_crm"}),
    "settings.xero_connect": ("/settings/integrations/xero/connect", {}, set()),
    "settings.xero_select": ("/settings/integrations/xero/select", {"tenant_connection": "conn-a"},
                             {"tenant_connection"}),
    "settings.xero_select_cancel": ("/settings/integrations/xero/select/cancel", {}, set()),
    "settings.xero_disconnect": ("/settings/integrations/xero/disconnect", {"confirm": "yes"}, {"confirm"}),
    "settings.xero_sync": ("/settings/integrations/xero/sync", {}, set()),
    "settings.save_default_account_code": ("/settings/integrations/account-codes",
                                           {"recurring_account_code": "200"}, {"recurring_account_code"}),
}
# Billing Settings with htmx save the one control that changed (HX-Source names it): each on its own, too.
INLINE = {f"settings.billing_save#{name}": name for name in BILLING}
# Posting these has effects beyond the database that the walk must not set off when a field turns out optional.
NOT_POSTED_WHOLE = {"settings.xero_connect", "settings.xero_select", "settings.xero_sync", "auth.logout",
                    "auth.sign_out_other_sessions"}


def removals():
    for endpoint, (_, payload, required) in FORMS.items():
        for field in [*payload, "csrf_token"]:
            if endpoint in NOT_POSTED_WHOLE and field not in required and field != "csrf_token":
                continue
            yield pytest.param(endpoint, field, field in required or field == "csrf_token",
                               id=f"{endpoint}-without-{field}")
    for key, name in INLINE.items():
        yield pytest.param(key, name, name in BILLING_REQUIRED, id=f"{key}-without-{name}")


# Takes a POST but is no form: Xero's webhook (no session, no CSRF token; its signature: tests/test_webhooks.py).
NOT_FORMS = {"webhooks.xero"}


def test_every_route_that_takes_a_post_is_listed(app):
    posted = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in route_methods(rule)} - NOT_FORMS
    assert posted == set(FORMS), f"list {sorted(posted - set(FORMS))} in FORMS (tests/test_form_errors.py)"


def make_form_rows(pid: int) -> dict[str, int]:
    """Something for every form in practice `pid` (connected first by the caller): an account and a theme, two
    menus, a client with a monthly and a one-off engagement (one completion) and a sync issue, a held invoice;
    their ids by the names FORMS's paths use."""
    make_account(pid, "200", "Sales")
    make_theme(pid, "t-standard", "Standard")
    menu = make_menu(pid)
    draft = make_menu(pid, "Draft", active=False)
    service = make_service(pid, menu=menu)
    one_off = make_service(pid, name="Accounts", method=BillingMethod.ONCE, menu=menu)
    unused = make_service(pid, name="Unused", menu=menu)
    client = make_client(pid)
    engagement = make_engagement(client, service)
    one_off_engagement = make_engagement(client, one_off, start=date(2026, 1, 1))
    completion = make_completion(one_off_engagement, date(2026, 1, 10))
    sync_issue = make_sync_issue(client)
    invoice = make_invoice(make_client(pid, "Held Ltd", code="HEL01"), status="held")
    return {"client": client.id, "engagement": engagement.id, "one_off": one_off_engagement.id,
            "completion": completion.id, "sync_issue": sync_issue.id, "invoice": invoice.id, "menu": menu.id,
            "draft_menu": draft.id, "service": service.id, "unused_service": unused.id}


@pytest.fixture
def book(owner, monkeypatch):
    """The owner's practice with something for every form: Xero connected and synced, two menus, clients with a
    monthly and a one-off engagement (one completion), and a choice of Xero organisation waiting."""
    pid = owner.practice_id
    with batched():
        make_connection(pid)
        ids = {"email": owner.email, **make_form_rows(pid)}
    month = add_months(this_month("Europe/London"), -1)
    organisation = SimpleNamespace(id="conn-a", tenant_name="Acme Ltd", tenant_id="t-a")
    monkeypatch.setattr("webapp.services.xero_connection.pending_choices", lambda *args: [organisation])
    return Book(ids, practice_id=pid, month=f"{month:%Y-%m}")


class Book(dict):
    """The ids a payload names; the approve form's fields (which build the month's plan) only when asked for."""

    def __init__(self, ids: dict, practice_id: int, month: str):
        super().__init__(ids)
        self.practice_id, self.month = practice_id, month

    def __missing__(self, name):
        self.update(approve_form(self.practice_id, self.month))
        return self[name]


def _fill(value, ids):
    return value.format_map(ids) if isinstance(value, str) else value


@pytest.mark.parametrize("endpoint, field, required", list(removals()))
@pytest.mark.parametrize("htmx", [False, True], ids=["browser", "htmx"])
def test_a_form_without_a_field_says_what_is_wrong(client, owner, book, endpoint, field, required, htmx):
    path, payload, _ = FORMS[endpoint.partition("#")[0]]
    inline = INLINE.get(endpoint)
    if inline and not htmx:
        pytest.skip("inline saves are htmx only")
    if endpoint != "auth.login":
        login(client, owner)
    if endpoint == "settings.xero_select":
        with client.session_transaction() as session:
            session["xero_pending"] = "pending-1"
    data = {name: _fill(value, book) for name, value in payload.items() if name != field}
    headers = dict(HTMX) if htmx else {}
    if inline:
        headers["HX-Source"] = f"input#{inline}"
    response = client.post(_fill(path, book), data=data, headers=headers, csrf=field != "csrf_token")
    body = response.get_data(as_text=True)
    shown = visible_errors(body)
    if response.status_code in (301, 302, 303):
        followed = client.get(response.headers["Location"])
        shown += visible_errors(followed.get_data(as_text=True))
    if required:
        assert shown, (f"{endpoint} without {field} answered {response.status_code} and showed no error:\n"
                       f"{body[:3000]}")
        assert response.status_code >= 300, f"{endpoint} without {field} succeeded"
    elif response.status_code >= 400:
        assert shown, f"{endpoint} without {field} answered {response.status_code} and showed no error"


# --- an error on a field the page does not show ---------------------------------------------------------------

def test_an_error_on_a_field_the_page_does_not_show_is_in_the_error_summary(auth_client, owner):
    """The client form offers Xero's invoice templates only once they are synced: a template posted before then
    (a stale page) is refused, and the page says so at the top of the form, though it shows no template select."""
    for path in ("/clients/new", f"/clients/{make_client(owner.practice_id).id}"):
        response = auth_client.post(path, data={**CLIENT, "branding_theme_id": "t-gone"})
        body = response.get_data(as_text=True)
        assert response.status_code == 422 and 'name="branding_theme_id"' not in body
        assert visible_errors(body) == [
            "There is a problem Invoice template: Choose one of your Xero invoice templates."]


def test_the_error_summary_links_each_error_to_its_field(auth_client, owner):
    make_theme(owner.practice_id, "t-standard", "Standard")
    response = auth_client.post("/clients/new", data={**CLIENT, "name": "", "code": "",
                                                      "branding_theme_id": "t-gone"})
    body = response.get_data(as_text=True)
    summary = body[body.index('<div class="error-summary"'):body.index("</div>", body.index('class="error-summary"'))]
    assert "There is a problem" in summary
    for target, message in (("name", "Enter the client&#39;s name."), ("code", "Enter a client code."),
                            ("branding_theme_id", "Choose one of your Xero invoice templates.")):
        assert f'<a href="#{target}">{message}</a>' in summary and f'id="{target}"' in body


def test_a_billing_settings_template_refused_without_xero_is_shown(auth_client, owner):
    response = auth_client.post("/settings/billing", data={**BILLING, "branding_theme_id": "t-special"})
    assert response.status_code == 422
    shown = " ".join(visible_errors(response.get_data(as_text=True)))
    assert "Choose a template from the list synced from Xero" in shown


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["browser", "htmx"])
def test_an_engagement_posted_when_there_are_no_services_is_refused_visibly(auth_client, owner, headers):
    client = make_client(owner.practice_id)
    response = auth_client.post(f"/clients/{client.id}/engagements", headers=headers,
                                data={"service_id": "1", "price": "", "start_date": "2026-01-01", "end_date": ""})
    assert response.status_code == 422
    assert any("Add services in Services & Pricing first" in text
               for text in visible_errors(response.get_data(as_text=True)))


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["browser", "htmx"])
def test_marking_calendar_billed_work_complete_is_refused_visibly(auth_client, owner, headers):
    client = make_client(owner.practice_id)
    engagement = make_engagement(client, make_service(owner.practice_id))
    response = auth_client.post(f"/clients/{client.id}/engagements/{engagement.id}/complete", headers=headers,
                                data={"completed_on": "2026-01-15"})
    assert response.status_code == 422
    assert "Monthly Bookkeeping is billed by the calendar, not when marked complete." in visible_errors(
        response.get_data(as_text=True))
