"""Helpers for the posting tests: a practice ready to post (reference data, contacts pulled), invoices as approval
raises them, and a small fake of Xero's Invoices and Contacts endpoints on `responses` that keeps what it created
(so lookups find it) and replays answers by Idempotency-Key as Xero does."""
import json
import uuid
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import requests

from tests.factories import TENANT_ID, make_account, make_client, make_contact_pull, make_theme, make_xero_contact
from webapp.extensions import db
from webapp.models import (
    BillingSettings,
    ClientContactLink,
    Invoice,
    InvoiceLine,
    InvoicePosting,
    InvoiceStatus,
    XeroTaxRate,
)

PERIOD = date(2026, 11, 1)


def ready_practice(practice_id: int, tenant_id: str = TENANT_ID, **settings) -> BillingSettings:
    """Reference data and contacts pulled (from `tenant_id`) as a sync leaves them; Billing Settings updated with
    `settings`."""
    make_account(practice_id, "200", "Sales", tax_type="OUTPUT2")
    make_account(practice_id, "210", "Consulting", type="SALES", tax_type="OUTPUT2")
    make_account(practice_id, "215", "Old Bookkeeping Fees", status="ARCHIVED", tax_type="OUTPUT2")
    make_account(practice_id, "260", "Other Revenue", type="OTHERINCOME", tax_type="OUTPUT2")
    make_account(practice_id, "400", "Advertising", account_class="EXPENSE", type="EXPENSE", tax_type="INPUT2")
    for tax_type, status in (("OUTPUT2", "ACTIVE"), ("NONE", "ACTIVE"), ("ZERORATEDOUTPUT", "ACTIVE"),
                             ("OLDRATE", "DELETED")):
        db.session.add(XeroTaxRate(practice_id=practice_id, tax_type=tax_type, name=tax_type, status=status))
    make_theme(practice_id, "5d4dd402-c851-497e-aae1-9ff265c0d15a", "Standard", 0)
    make_theme(practice_id, "3761ef2b-6a43-4f6d-9f39-1a1b2c3d4e5f", "Socket Practice", 1)
    make_theme(practice_id, "a0f2c0de-7b8e-4c4d-8e9f-2b3c4d5e6f70", "Special Projects", 2, present_in_xero=False)
    make_contact_pull(practice_id, tenant_id=tenant_id)
    billing = db.session.get(BillingSettings, practice_id)
    for key, value in settings.items():
        setattr(billing, key, value)
    db.session.commit()
    return billing


def linked_client(practice_id: int, code: str, name: str | None = None, status="ACTIVE", **fields):
    """A client linked (automatically) to an ACTIVE mirrored contact of its name; returns (client, contact)."""
    name = name or f"Client {code}"
    client = make_client(practice_id, name, code=code, **fields)
    contact = make_xero_contact(practice_id, name, status=status)
    db.session.add(ClientContactLink(practice_id=practice_id, client_id=client.id, contact_id=contact.contact_id,
                                     outcome="linked", rule="name", reason="Same name.", candidate_ids=[]))
    db.session.commit()
    return client, contact


def decided_client(practice_id: int, code: str, outcome: str, candidates=(), name=None, manual=False,
                   reason="", **fields):
    """A client with a stored decision that is not a link (unmatched or needs review)."""
    client = make_client(practice_id, name or f"Client {code}", code=code, **fields)
    db.session.add(ClientContactLink(practice_id=practice_id, client_id=client.id, contact_id=None, outcome=outcome,
                                     rule=None, reason=reason, candidate_ids=list(candidates), is_manual=manual))
    db.session.commit()
    return client


def make_invoice(practice_id: int, client, number: str, lines=(("Monthly Bookkeeping — November 2026", "250.00",
                                                                  "200", "OUTPUT2"),),
                 period=PERIOD, status=InvoiceStatus.RAISED.value, theme=None, issue=None, due=None,
                 services=None) -> Invoice:
    """An invoice as approval raises it: lines (description, unit amount, code, tax type), quantity 1."""
    invoice = Invoice(practice_id=practice_id, client_id=client.id, number=number, period=period,
                      issue_date=issue or period, due_date=due or date(period.year, period.month, 15), status=status,
                      branding_theme_id=theme)
    db.session.add(invoice)
    db.session.flush()
    for position, (description, amount, code, tax_type) in enumerate(lines):
        db.session.add(InvoiceLine(invoice_id=invoice.id, position=position, description=description,
                                   quantity=Decimal("1.00"), unit_amount=Decimal(amount), account_code=code,
                                   tax_type=tax_type, service_id=(services or {}).get(position)))
    db.session.commit()
    return invoice


def invoice_state(invoice_id: int) -> tuple[str, InvoicePosting | None]:
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice_id)
    posting = db.session.execute(db.select(InvoicePosting).filter_by(invoice_id=invoice_id)).scalar_one_or_none()
    return invoice.status, posting


class Killed(BaseException):
    """Stands in for the worker being killed after Xero committed and before Socket heard back."""


class FakeXero:
    """Xero's PUT/GET /Invoices and POST /Contacts as far as posting needs them (see the module's docstring).

    `refuse`: contact ids whose invoices Xero refuses (per element); `lose`: how many next writes are committed and
    then answered with a dropped connection; `kill`: how many next writes are committed and then kill the worker;
    `invoice_answer`: replaces the answer body of the next PUT (bad input tests).
    """

    def __init__(self, mocked, settings):
        self.url = settings.accounting_url
        self.invoices: list[dict] = []
        self.contacts: list[dict] = []
        self.refuse: set[str] = set()
        self.refuse_names: set[str] = set()
        self.lose = 0
        self.kill = 0
        self.invoice_answer = None
        self.keys: dict[str, tuple[str, int, str]] = {}
        self.puts: list = []
        self.gets: list = []
        self.contact_posts: list = []
        mocked.add_callback("PUT", f"{self.url}/Invoices", callback=self._put_invoices)
        mocked.add_callback("GET", f"{self.url}/Invoices", callback=self._get_invoices)
        mocked.add_callback("POST", f"{self.url}/Contacts", callback=self._post_contacts)

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _idempotent(self, request, handle):
        key = request.headers.get("Idempotency-Key")
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        if key in self.keys:
            stored_body, status, answer = self.keys[key]
            if stored_body != body:
                return 400, {}, json.dumps({"Title": "Bad Request", "Status": 400,
                                            "Detail": "The Idempotency-Key has already been used for a different "
                                                      "request"})
        else:
            status, answer = handle(json.loads(body))
            if key:
                self.keys[key] = (body, status, answer)
        if self.kill:
            self.kill -= 1
            raise Killed()
        if self.lose:
            self.lose -= 1
            raise requests.ConnectionError("connection dropped after the write was committed")
        return status, {}, answer

    # -- invoices ---------------------------------------------------------------------------------------------
    def _put_invoices(self, request):
        self.puts.append(request)

        def handle(body):
            answers = []
            for element in body["Invoices"]:
                contact_id = element["Contact"]["ContactID"]
                if contact_id in self.refuse:
                    answers.append({"Type": "ACCREC", "Reference": element["Reference"], "HasErrors": True,
                                    "StatusAttributeString": "ERROR",
                                    "ValidationErrors": [{"Message": "The contact is archived."}]})
                    continue
                total = sum(Decimal(str(i["Quantity"])) * Decimal(str(i["UnitAmount"]))
                            for i in element["LineItems"])
                number = f"INV-{len(self.invoices) + 1:04d}"
                invoice = {**element, "InvoiceID": str(uuid.uuid4()), "InvoiceNumber": number,
                           "SubTotal": float(total), "TotalTax": float(total / 5), "Total": float(total * 6 / 5),
                           "AmountDue": float(total * 6 / 5), "AmountPaid": 0.0,
                           "UpdatedDateUTC": "/Date(1795000000000+0000)/", "StatusAttributeString": "OK",
                           "HasErrors": False}
                self.invoices.append(invoice)
                answers.append(invoice)
            answer = self.invoice_answer if self.invoice_answer is not None else {"Invoices": answers}
            self.invoice_answer = None
            return 200, json.dumps(answer)

        return self._idempotent(request, handle)

    def _get_invoices(self, request):
        self.gets.append(request)
        query = parse_qs(urlsplit(request.url).query)
        found = list(self.invoices)
        if "IDs" in query:
            wanted = set(query["IDs"][0].split(","))
            found = [i for i in found if i["InvoiceID"] in wanted]
        if "where" in query:
            where = query["where"][0]
            found = [i for i in found if f'Reference=="{i["Reference"]}"' in where]
        return 200, {}, json.dumps({"Invoices": found})

    # -- contacts ---------------------------------------------------------------------------------------------
    def _post_contacts(self, request):
        self.contact_posts.append(request)

        def handle(body):
            answers = []
            for element in body["Contacts"]:
                if element["Name"] in self.refuse_names:
                    answers.append({**element, "StatusAttributeString": "ERROR", "HasValidationErrors": True,
                                    "ValidationErrors": [{"Message": f"The contact name {element['Name']} is already "
                                                                     "assigned to another contact. The contact name "
                                                                     "must be unique across all active contacts."}]})
                    continue
                contact = {**element, "ContactID": str(uuid.uuid4()), "ContactStatus": "ACTIVE",
                           "UpdatedDateUTC": "/Date(1795000000000+0000)/", "StatusAttributeString": "OK",
                           "HasValidationErrors": False}
                self.contacts.append(contact)
                answers.append(contact)
            return 200, json.dumps({"Contacts": answers})

        return self._idempotent(request, handle)

    # -- reading back -----------------------------------------------------------------------------------------
    def references(self) -> list[str]:
        return [invoice["Reference"] for invoice in self.invoices]

    def put_bodies(self) -> list[dict]:
        return [json.loads(request.body) for request in self.puts]
