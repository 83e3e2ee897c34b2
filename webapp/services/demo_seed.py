"""The demo practice: clients from webapp/demo/practice_clients.csv, two pricing menus, engagements, and the
links to Xero contacts a person made (the CSV's `linked_contact_id`, e.g. QUA01's: matching never changes them).

Idempotent: running it again updates the same rows by natural key (client code, menu and service name,
client + service) and never duplicates them. Engagement dates are relative to today so the Billing
Plan always shows new, expanded and contracted clients.
"""
import csv
import os
from datetime import date
from decimal import Decimal

from webapp.clock import local_today
from webapp.extensions import db
from webapp.models import (
    BilledCharge,
    BillingMethod,
    BillingSettings,
    Client,
    Engagement,
    EngagementCompletion,
    Practice,
    PricingMenu,
    Role,
    Service,
    User,
)
from webapp.sync.contact_links import link_for, record_manual_decision

DEMO_PRACTICE_NAME = "Hartley & Webb Chartered Accountants"
DEMO_EMAIL = "demo@socket.test"
DEMO_PASSWORD = "socket-demo"
DEMO_STAFF_EMAIL = "staff@socket.test"
DEMO_TIME_ZONE = "Europe/London"
CLIENTS_CSV = os.path.join(os.path.dirname(os.path.dirname(__file__)), "demo", "practice_clients.csv")

ACTIVE_MENU = "2026/27 Pricing"
OLD_MENU = "2025/26 Pricing"
M = BillingMethod
ACTIVE_SERVICES = [
    ("Monthly Bookkeeping", "Bank reconciliations and bookkeeping in Xero", M.MONTHLY, "250.00"),
    ("Payroll (up to 10 employees)", "Monthly payroll, payslips and RTI submissions", M.MONTHLY, "120.00"),
    ("VAT Returns", "Quarterly VAT return under Making Tax Digital", M.QUARTERLY_ADVANCE, "300.00"),
    ("Management Accounts", "Quarterly management accounts and review meeting", M.QUARTERLY_COMPLETION, "450.00"),
    ("Annual Accounts", "Statutory year-end accounts filed at Companies House", M.ANNUAL_COMPLETION, "1200.00"),
    ("Corporation Tax Return", "CT600 return and computations", M.ANNUAL_ADVANCE, "600.00"),
    ("Self Assessment Tax Return", "Personal tax return for a director or partner", M.ANNUAL_COMPLETION, "350.00"),
    ("Company Secretarial", "Confirmation statement and registers", M.ANNUAL_ADVANCE, "180.00"),
    ("Business Advisory Meeting", "A half-day planning session", M.ONCE, "250.00"),
    ("Company Formation", "Incorporation and first-year set-up", M.ONCE, "150.00"),
]
OLD_SERVICES = [
    ("Monthly Bookkeeping", "Bank reconciliations and bookkeeping", M.MONTHLY, "225.00"),
    ("VAT Returns", "Quarterly VAT return", M.QUARTERLY_ADVANCE, "275.00"),
    ("Annual Accounts", "Statutory year-end accounts", M.ANNUAL_COMPLETION, "1100.00"),
    ("Business Advisory Meeting", "A half-day planning session", M.ONCE, "225.00"),
]


def _month_start(day: date, months_back: int = 0) -> date:
    month_index = day.year * 12 + day.month - 1 - months_back
    return date(month_index // 12, month_index % 12 + 1, 1)


def _upsert_menu(practice: Practice, name: str, active: bool, services: list) -> dict[str, Service]:
    menu = db.session.execute(
        db.select(PricingMenu).filter_by(practice_id=practice.id, name=name)
    ).scalar_one_or_none()
    if menu is None:
        menu = PricingMenu(practice_id=practice.id, name=name)
        db.session.add(menu)
        db.session.flush()
    menu.is_active = active
    by_name = {}
    for position, (service_name, description, method, price) in enumerate(services):
        service = db.session.execute(
            db.select(Service).filter_by(pricing_menu_id=menu.id, name=service_name)
        ).scalar_one_or_none()
        if service is None:
            service = Service(practice_id=practice.id, pricing_menu_id=menu.id, name=service_name)
            db.session.add(service)
        service.description = description
        service.billing_method = method.value
        service.price = Decimal(price)
        service.position = position
        by_name[service_name] = service
    db.session.flush()
    return by_name


def _load_clients(practice: Practice) -> tuple[list[Client], list[tuple[Client, str]]]:
    """The CSV's clients (created or refreshed), and (client, contact id) for each link a person made."""
    with open(CLIENTS_CSV, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    clients = []
    manual_links = []
    for row in rows:
        client = db.session.execute(
            db.select(Client).filter_by(practice_id=practice.id, code=row["code"])
        ).scalar_one_or_none()
        if client is None:
            client = Client(practice_id=practice.id, code=row["code"])
            db.session.add(client)
        client.name = row["name"]
        client.email = row["email"] or None
        client.phone = row["phone"] or None
        client.address_line = row["address"] or None
        client.city = row["city"] or None
        client.postcode = row["postcode"] or None
        client.company_number = row["company_number"] or None
        client.vat_number = row["vat_number"] or None
        clients.append(client)
        if row.get("linked_contact_id"):
            manual_links.append((client, row["linked_contact_id"].strip().lower()))
    db.session.flush()
    return clients, manual_links


def _seed_manual_links(practice: Practice, owner: User, manual_links: list[tuple[Client, str]]) -> None:
    """Store each manual link (left alone when it is already stored as it is)."""
    for client, contact_id in manual_links:
        link = link_for(practice.id, client.id)
        if link is None or not link.is_manual or link.contact_id != contact_id:
            record_manual_decision(practice.id, client.id, contact_id, owner.id,
                                   f"Linked by {owner.name} (a link made by hand).")


_EngagementPlan = list[tuple[str, date, date | None, date | None]]  # (service, start, end, completed_on)


def _engagement_plan(index: int, this_month: date) -> _EngagementPlan:
    """Which services client number `index` takes, as (service, start, end, completed_on).

    A fixed pattern so the demo is the same every time: most clients are steady, every seventh is new
    this month, every eleventh expanded (payroll added this month), every thirteenth contracted (payroll
    ended last month), and a few have one-off or on-completion work completed this month.
    """
    long_ago = _month_start(this_month, 14 + index % 6)
    last_month_end = date.fromordinal(this_month.toordinal() - 1)
    plan: _EngagementPlan = []
    if index % 7 == 3:
        plan.append(("Monthly Bookkeeping", this_month, None, None))
        plan.append(("Company Formation", this_month, None, this_month))
        return plan
    # Every seventeenth stopped bookkeeping last month: ended, or contracted when payroll carries on.
    plan.append(("Monthly Bookkeeping", long_ago, last_month_end if index % 17 == 8 else None, None))
    if index % 3 == 0:
        plan.append(("VAT Returns", _month_start(this_month, 3 * (1 + index % 4)), None, None))
    if index % 11 == 5:
        plan.append(("Payroll (up to 10 employees)", this_month, None, None))
    elif index % 13 == 4:
        plan.append(("Payroll (up to 10 employees)", long_ago, last_month_end, None))
    elif index % 4 == 1:
        plan.append(("Payroll (up to 10 employees)", long_ago, None, None))
    if index % 5 == 2:
        plan.append(("Annual Accounts", long_ago, None, this_month))
    if index % 6 == 4:
        plan.append(("Business Advisory Meeting", this_month, None, this_month))
    if index % 12 == 0:
        plan.append(("Corporation Tax Return", _month_start(this_month, 12), None, None))
    return plan


def _seed_completion(engagement: Engagement, completed_on: date) -> None:
    """Give the engagement one completion on `completed_on`: re-dated while not invoiced, never duplicated."""
    latest = db.session.execute(
        db.select(EngagementCompletion).filter_by(engagement_id=engagement.id)
        .order_by(EngagementCompletion.completed_on.desc(), EngagementCompletion.id.desc())
    ).scalars().first()
    if latest is None:
        db.session.add(EngagementCompletion(practice_id=engagement.practice_id, engagement_id=engagement.id,
                                            completed_on=completed_on))
        return
    invoiced = db.session.execute(
        db.select(BilledCharge.id).filter_by(completion_id=latest.id)).first() is not None
    if not invoiced:
        latest.completed_on = completed_on


def seed_demo(today: date | None = None) -> dict[str, int]:
    """Create or refresh the demo practice; returns counts of what it holds."""
    today = today or local_today(DEMO_TIME_ZONE)
    this_month = _month_start(today)
    practice = db.session.execute(db.select(Practice).filter_by(name=DEMO_PRACTICE_NAME)).scalar_one_or_none()
    if practice is None:
        practice = Practice(name=DEMO_PRACTICE_NAME, time_zone=DEMO_TIME_ZONE)
        db.session.add(practice)
        db.session.flush()
    if db.session.get(BillingSettings, practice.id) is None:
        db.session.add(BillingSettings(practice_id=practice.id, consolidate_recurring=False,
                                       consolidate_one_off=False, invoice_day=1, payment_terms_days=14))
    users = {}
    for email, name, role in ((DEMO_EMAIL, "Dana Hartley", Role.OWNER), (DEMO_STAFF_EMAIL, "Sam Webb", Role.STAFF)):
        user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()
        if user is None:
            user = User(email=email, practice_id=practice.id)
            db.session.add(user)
        user.name = name
        user.role = role.value
        user.set_password(DEMO_PASSWORD)
        users[email] = user

    _upsert_menu(practice, OLD_MENU, False, OLD_SERVICES)
    services = _upsert_menu(practice, ACTIVE_MENU, True, ACTIVE_SERVICES)
    clients, manual_links = _load_clients(practice)
    _seed_manual_links(practice, users[DEMO_EMAIL], manual_links)

    engagement_count = 0
    for index, client in enumerate(clients):
        for service_name, start, end, completed in _engagement_plan(index, this_month):
            service = services[service_name]
            engagement = db.session.execute(
                db.select(Engagement).filter_by(client_id=client.id, service_id=service.id)
            ).scalar_one_or_none()
            if engagement is None:
                engagement = Engagement(practice_id=practice.id, client_id=client.id, service_id=service.id)
                db.session.add(engagement)
            engagement.price = service.price
            engagement.start_date = start
            engagement.end_date = end
            if completed is not None:
                db.session.flush()
                _seed_completion(engagement, completed)
            engagement_count += 1
    db.session.commit()
    return {"clients": len(clients), "services": len(services), "engagements": engagement_count}
