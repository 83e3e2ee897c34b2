"""What two-way contact updates could not settle quietly for a client, as its page shows it, and dismissing it."""
from dataclasses import dataclass
from datetime import datetime

from webapp.extensions import db
from webapp.models import ContactSyncIssue, SyncIssueKind
from webapp.models.base import utcnow
from webapp.sync.contact_updates import LABELS

SHOWN = 20  # the newest open issues a client's page lists


@dataclass(frozen=True)
class IssueRow:
    """One open issue, worded for the client's page."""

    id: int
    detail: str  # "Email", "VAT number"...
    kind: str
    socket_value: str
    xero_value: str
    kept: str | None
    message: str
    created_at: datetime

    @property
    def headline(self) -> str:
        if self.kind == SyncIssueKind.CONFLICT.value:
            return f"{self.detail} changed in both Socket and Xero"
        if self.kind == SyncIssueKind.REFUSED_BY_XERO.value:
            return f"{self.detail} not updated in Xero"
        return f"{self.detail} from Xero not copied"

    @property
    def outcome(self) -> str:
        if self.kind == SyncIssueKind.CONFLICT.value:
            whose = "Socket's" if self.kept == "socket" else "Xero's"
            primary = "Socket" if self.kept == "socket" else "Xero"
            return f"{whose} value was kept on both sides, as {primary} is the practice's primary CRM."
        return self.message


def _shown(value: str | None) -> str:
    return value if value else "(empty)"


def open_issues(practice_id: int, client_id: int) -> list[IssueRow]:
    """The client's issues not yet dismissed, newest first (at most SHOWN)."""
    issue = ContactSyncIssue
    rows = db.session.execute(
        db.select(issue).filter(issue.practice_id == practice_id, issue.client_id == client_id,
                                issue.dismissed_at.is_(None))
        .order_by(issue.created_at.desc(), issue.id.desc()).limit(SHOWN)).scalars()
    return [IssueRow(row.id, LABELS.get(row.field, row.field).capitalize(), row.kind, _shown(row.socket_value),
                     _shown(row.xero_value), row.kept, row.message, row.created_at) for row in rows]


def dismiss(practice_id: int, client_id: int, issue_id: int, user_id: int) -> bool:
    """Dismiss one of the client's open issues; False when the practice's client has no such open issue."""
    row = db.session.execute(db.select(ContactSyncIssue).filter_by(
        id=issue_id, practice_id=practice_id, client_id=client_id, dismissed_at=None)).scalar_one_or_none()
    if row is None:
        return False
    row.dismissed_at, row.dismissed_by_id = utcnow(), user_id
    db.session.commit()
    return True
