"""Plain functions that create the rows tests need, with sensible defaults and keyword overrides.

Each one commits (so a request made by the test client sees the row, and a rollback in the app cannot take
it away) and returns the new object. They need an app context (the `app_ctx` fixture, or `owner`).
"""
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from werkzeug.security import generate_password_hash

from webapp.extensions import db
from webapp.models import (
    BillingMethod,
    BillingSettings,
    Client,
    ContactPull,
    ContactSyncIssue,
    Engagement,
    EngagementCompletion,
    Invoice,
    InvoiceLine,
    Practice,
    PricingMenu,
    Role,
    Service,
    SyncRun,
    User,
    XeroAccount,
    XeroBrandingTheme,
    XeroConnection,
    XeroContact,
)
from webapp.xero.crypto import TokenCipher

PASSWORD = "correct horse battery"
# The stored hash of PASSWORD for the users the tests make: pbkdf2 with one round, hashed once per run, so that
# making a user and signing in cost microseconds, not the ~0.15 s each of production's scrypt (that was about a
# fifth of the suite's time). check_password_hash reads the method from the hash, so sign-in is exercised as in
# production; the real method is tested through User.set_password (tests/test_sessions.py, test_login_throttle.py).
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
LONG_AGO = date(2025, 1, 1)  # engagements start here unless told otherwise: every month in the tests is billed
TENANT_ID = "11111111-2222-3333-4444-555555555555"
XERO_CONNECTION_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


_batch_depth = 0


@contextmanager
def batched():
    """Inside the block the factories flush (ids are assigned) instead of committing each row, and one commit ends
    it: a fixture making a dozen rows saves a dozen commits and the reloads each commit's expiry causes."""
    global _batch_depth
    _batch_depth += 1
    try:
        yield
    finally:
        _batch_depth -= 1
    if _batch_depth == 0:
        db.session.commit()


def _save(obj):
    db.session.add(obj)
    if _batch_depth:
        db.session.flush()
    else:
        db.session.commit()
    return obj


# --- practices and the people who sign in ------------------------------------------------------------

def make_practice(name="Acme Accountants", email=None, role=Role.OWNER, **practice_fields) -> User:
    """A practice with Billing Settings and one user (its owner unless `role` says otherwise); returns the user."""
    practice = Practice(name=name, **practice_fields)
    db.session.add(practice)
    db.session.flush()
    db.session.add(BillingSettings(practice_id=practice.id))
    return make_user(practice.id, role=role, email=email, name="Test User")


def make_user(practice_id: int, role=Role.STAFF, email=None, name="Another", password=PASSWORD) -> User:
    """Someone else signing in to the practice: staff unless `role` says otherwise."""
    user = User(practice_id=practice_id, email=email or f"{uuid.uuid4().hex[:8]}@example.com", name=name,
                role=Role(role).value)
    if password == PASSWORD:
        user.password_hash = PASSWORD_HASH
    else:
        user.set_password(password)
    return _save(user)


# --- clients, pricing and agreed work ------------------------------------------------------------

def make_client(practice_id: int, name="Abbott & Sons Ltd", code=None, **fields) -> Client:
    """A client; its code is made from its name (Abbott & Sons Ltd -> ABB01) unless given."""
    return _save(Client(practice_id=practice_id, name=name, code=code or name[:3].upper() + "01", **fields))


def make_menu(practice_id: int, name="2026/27 Pricing", active=True) -> PricingMenu:
    return _save(PricingMenu(practice_id=practice_id, name=name, is_active=active))


def make_service(practice_id: int | None = None, name="Monthly Bookkeeping", method=BillingMethod.MONTHLY,
                 price="250.00", menu: PricingMenu | None = None, **fields) -> Service:
    """A service on `menu`, else on the practice's first menu (made, active, if it has none)."""
    if menu is None:
        menu = db.session.execute(db.select(PricingMenu).filter_by(practice_id=practice_id)
                                  .order_by(PricingMenu.id)).scalars().first() or make_menu(practice_id)
    return _save(Service(practice_id=menu.practice_id, pricing_menu_id=menu.id, name=name,
                         billing_method=BillingMethod(method).value, price=Decimal(price), **fields))


def make_engagement(client: Client, service: Service, price=None, start=LONG_AGO, end=None, completed_on=None,
                    **fields) -> Engagement:
    """`client` engaged on `service` at its price (unless `price`), from `start` to `end`; optionally completed."""
    engagement = _save(Engagement(practice_id=client.practice_id, client_id=client.id, service_id=service.id,
                                  price=Decimal(price) if price else service.price, start_date=start, end_date=end,
                                  **fields))
    if completed_on is not None:
        make_completion(engagement, completed_on)
    return engagement


def make_completion(engagement: Engagement, completed_on: date, **fields) -> EngagementCompletion:
    """The engagement's work marked complete on `completed_on` (the engagement is refreshed to list it)."""
    completion = _save(EngagementCompletion(practice_id=engagement.practice_id, engagement_id=engagement.id,
                                            completed_on=completed_on, **fields))
    db.session.refresh(engagement)
    return completion


def make_invoice(client: Client, number="SKT-000900", period=date(2026, 10, 1), status="raised",
                 amount="250.00", account_code="200", **fields) -> Invoice:
    """A raised invoice of one line for `client` (no billing run or ledger: it leaves plans as they are)."""
    invoice = Invoice(practice_id=client.practice_id, client_id=client.id, number=number, period=period,
                      issue_date=period, due_date=period.replace(day=15), status=status, **fields)
    invoice.lines.append(InvoiceLine(description="Monthly Bookkeeping — October 2026", quantity=Decimal("1.00"),
                                     unit_amount=Decimal(amount), account_code=account_code, tax_type="OUTPUT2"))
    return _save(invoice)


# --- Xero ----------------------------------------------------------------------------------------

def make_connection(practice_id: int | None = None, access="old-access", refresh="old-refresh",
                    expires_in=timedelta(minutes=20), tenant_id=TENANT_ID, status="connected",
                    **fields) -> XeroConnection:
    """A Xero connection with encrypted tokens (for a new practice unless `practice_id`)."""
    if practice_id is None:
        practice_id = make_practice().practice_id
    cipher = TokenCipher(current_app.config["TOKEN_ENCRYPTION_KEY"])
    fields.setdefault("connection_id", XERO_CONNECTION_ID)
    fields.setdefault("tenant_name", "Demo Company (UK)")
    return _save(XeroConnection(
        practice_id=practice_id, tenant_id=tenant_id, status=status,
        access_token_encrypted=cipher.encrypt(access), refresh_token_encrypted=cipher.encrypt(refresh),
        access_token_expires_at=datetime.now(UTC) + expires_in, **fields))


def make_account(practice_id: int, code="200", name="Sales", status="ACTIVE", account_class="REVENUE",
                 type="REVENUE", **fields) -> XeroAccount:
    """A synced Xero account (an active revenue account unless told otherwise)."""
    fields.setdefault("account_id", f"acc-{code}")
    return _save(XeroAccount(practice_id=practice_id, code=code, name=name, status=status,
                             account_class=account_class, type=type, **fields))


def make_theme(practice_id: int, branding_theme_id="t-standard", name="Standard", sort_order=0,
               **fields) -> XeroBrandingTheme:
    """A synced Xero invoice template (branding theme)."""
    return _save(XeroBrandingTheme(practice_id=practice_id, branding_theme_id=branding_theme_id, name=name,
                                   sort_order=sort_order, **fields))


def make_xero_contact(practice_id: int, name="Abbott & Sons Ltd", contact_id=None, status="ACTIVE",
                      **fields) -> XeroContact:
    """A mirrored Xero contact (its ContactID made from its name unless given)."""
    contact_id = contact_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"contact/{practice_id}/{name}"))
    return _save(XeroContact(practice_id=practice_id, contact_id=contact_id, name=name, status=status, **fields))


def make_sync_issue(client: Client, contact_id="c-1", **fields) -> ContactSyncIssue:
    """A difference two-way updates recorded on `client` (a conflict over its email unless told otherwise)."""
    fields = {"field": "email", "kind": "conflict", "socket_value": "socket@example.com",
              "xero_value": "xero@example.com", "kept": "socket", **fields}
    return _save(ContactSyncIssue(practice_id=client.practice_id, client_id=client.id, contact_id=contact_id,
                                  **fields))


def make_contact_pull(practice_id: int, tenant_id=TENANT_ID, **fields) -> ContactPull:
    """The practice's contacts pulled once from `tenant_id` (so matching runs for it)."""
    fields.setdefault("last_started_at", datetime(2026, 6, 15, 12, 0, tzinfo=UTC))
    return _save(ContactPull(practice_id=practice_id, tenant_id=tenant_id, **fields))


FINISHED_STEPS = [{"name": "reference", "label": "Account codes, branding themes and tax rates", "outcome": "done"},
                  {"name": "contacts", "label": "Contacts and matching", "outcome": "done"},
                  {"name": "contact_updates", "label": "Contact details both ways", "outcome": "done"}]


def make_sync_run(practice_id: int, trigger="nightly", status="succeeded", started_at=None, took=timedelta(seconds=8),
                  error=None, counts=None, **fields) -> SyncRun:
    """A sync run as the job leaves it: finished (`took` after `started_at`, default a minute ago) with every step
    done, unless told otherwise; a failed one fails its reference step with `error`."""
    started_at = started_at or datetime.now(UTC) - timedelta(minutes=1)
    if counts is None:
        steps = [dict(step) for step in FINISHED_STEPS]
        if status == "failed":
            steps[0].update(outcome="failed", error=error or "Xero is having trouble (HTTP 503)")
        counts = {"steps": steps, "accounts": 4, "branding_themes": 2, "tax_rates": 2, "contacts_new": 0,
                  "contacts_changed": 0, "clients_linked": 3, "clients_needs_review": 1, "clients_unmatched": 0,
                  "contact_updates_sent": 0, "contact_updates_received": 0, "contact_update_conflicts": 0,
                  "warnings": []}
    if status == "failed" and error is None:
        error = "Account codes, branding themes and tax rates: Xero is having trouble (HTTP 503)"
    finished = status in ("succeeded", "failed")
    fields.setdefault("xero_calls", 5)
    return _save(SyncRun(practice_id=practice_id, trigger=trigger, status=status, counts=counts, error=error,
                         queued_at=fields.pop("queued_at", started_at), started_at=started_at,
                         finished_at=started_at + took if finished else None, **fields))
