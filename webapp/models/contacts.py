"""Xero contacts as Socket keeps them: the local mirror, the state of its pulls, and each client's link.

`xero_contacts` mirrors the organisation's contacts (pulled by webapp.sync.contacts_pull); `client_contact_links`
holds what matching (or a person) decided for each client (webapp.sync.contact_links); `xero_contact_pulls`
remembers, per practice, which organisation the mirror is of and when its last complete pull started, so the next
pull asks Xero only for what changed since (If-Modified-Since).
"""
import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Model, UTCDateTime, utcnow


class LinkOutcome(str, enum.Enum):
    """What was decided for a client (the values of webapp.sync.matching.Outcome)."""

    LINKED = "linked"
    NEEDS_REVIEW = "needs_review"
    UNMATCHED = "unmatched"


class XeroContact(Model):
    """One Xero contact, as Xero last returned it (field lengths are Xero's maximums)."""

    __tablename__ = "xero_contacts"
    __table_args__ = (UniqueConstraint("practice_id", "contact_id", name="uq_xero_contacts_practice_contact"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    contact_id: Mapped[str] = mapped_column(String(36))  # ContactID, lower case
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    contact_number: Mapped[str | None] = mapped_column(String(50))
    account_number: Mapped[str | None] = mapped_column(String(50))
    company_number: Mapped[str | None] = mapped_column(String(50))
    tax_number: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(16))  # ACTIVE, ARCHIVED or GDPRREQUEST
    merged_to_contact_id: Mapped[str | None] = mapped_column(String(36))
    is_customer: Mapped[bool] = mapped_column(default=False)
    is_supplier: Mapped[bool] = mapped_column(default=False)
    phone: Mapped[str | None] = mapped_column(String(100))
    # The POBOX (postal) address when it has anything in it, else the STREET one: the one Xero prints on invoices.
    address_line: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(String(255))
    postcode: Mapped[str | None] = mapped_column(String(50))
    updated_date_utc: Mapped[datetime | None] = mapped_column(UTCDateTime)  # UpdatedDateUTC
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_active(self) -> bool:
        return self.status == "ACTIVE"


class ContactPull(Model):
    """Per practice: the organisation the mirror holds and when its last complete pull started."""

    __tablename__ = "xero_contact_pulls"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), unique=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    # Start of the last pull that read every page; None until one has (the next pull then reads everything).
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ClientContactLink(Model):
    """What was decided for one client: its Xero contact (the stored link), or why it has none yet.

    `contact_id` is the stored link. It is kept through a `needs_review` decision (matching never removes a link;
    a person does), so a client is ready to invoice only when `outcome` is linked. `rule` is the matching rule
    that made the decision ("stored" for a link made by a person); `candidate_ids` are the contacts a person should
    choose from (needs_review). `is_manual` marks a person's decision, which automatic matching never changes: a
    manual link, or, with `contact_id` None, "this client has no Xero contact".
    """

    __tablename__ = "client_contact_links"
    __table_args__ = (Index("ix_client_contact_links_practice_outcome", "practice_id", "outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    contact_id: Mapped[str | None] = mapped_column(String(36))
    outcome: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    candidate_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    is_manual: Mapped[bool] = mapped_column(default=False)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Two-way updates (webapp.sync.contact_updates): the shared details as each side held them when the pair was
    # last synced ({"socket": {...}, "xero": {...}}), for the contact they were synced with. None until the first.
    synced_contact_id: Mapped[str | None] = mapped_column(String(36))
    synced_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SyncIssueKind(str, enum.Enum):
    """Why a detail of a linked client and its contact was not simply copied across."""

    CONFLICT = "conflict"  # changed on both sides since the last sync: the primary CRM's value was kept
    REFUSED_BY_XERO = "refused_by_xero"  # Socket's change was sent; Xero refused it
    NOT_ACCEPTED = "not_accepted"  # Xero's change is not a value Socket accepts for a client


class ContactSyncIssue(Model):
    """A detail two-way updates could not settle quietly, shown on the client until a person dismisses it."""

    __tablename__ = "contact_sync_issues"
    __table_args__ = (Index("ix_contact_sync_issues_client_open", "client_id", "dismissed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    contact_id: Mapped[str] = mapped_column(String(36))
    field: Mapped[str] = mapped_column(String(20))  # the client's column
    kind: Mapped[str] = mapped_column(String(20))
    socket_value: Mapped[str | None] = mapped_column(Text)
    xero_value: Mapped[str | None] = mapped_column(Text)
    kept: Mapped[str | None] = mapped_column(String(8))  # "socket" or "xero": whose value both sides now hold
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
