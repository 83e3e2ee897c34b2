"""Marking one-off and on-completion engagements complete, and undoing that while it is not yet invoiced."""
from datetime import date

from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import BilledCharge, BillingMethod, Engagement, EngagementCompletion, Invoice
from webapp.services.billing import cadence, lock

PERIOD_NAMES = {BillingMethod.QUARTERLY_COMPLETION: "quarter", BillingMethod.ANNUAL_COMPLETION: "year"}


class CompletionRefused(Exception):
    """Why a completion cannot be recorded or undone (the message is for the user)."""


def is_completable(engagement: Engagement) -> bool:
    """One-off and on-completion work is billed when marked complete; the rest by the calendar."""
    method = BillingMethod(engagement.service.billing_method)
    return method is BillingMethod.ONCE or method.on_completion


def has_billed_charges(engagement_id: int) -> bool:
    """Whether any approval has invoiced a charge of this engagement (a calendar fee or a completion)."""
    return db.session.execute(
        db.select(BilledCharge.id).filter_by(engagement_id=engagement_id).limit(1)).first() is not None


def invoiced_completions(engagements: list[Engagement]) -> dict[int, str]:
    """Completion id -> the number of the invoice that billed it, for these engagements' completions."""
    ids = [completion.id for engagement in engagements for completion in engagement.completions]
    if not ids:
        return {}
    rows = db.session.execute(
        db.select(BilledCharge.completion_id, Invoice.number)
        .join(Invoice, Invoice.id == BilledCharge.invoice_id)
        .filter(BilledCharge.completion_id.in_(ids))
    )
    return {completion_id: number for completion_id, number in rows}


def _period_span(method: BillingMethod, start: date, index: int) -> str:
    months = cadence.COMPLETION_EVERY[method]
    first = cadence.add_months(cadence.month_start(start), index * months)
    last = cadence.add_months(first, months - 1)
    return f"{first:%B %Y} – {last:%B %Y}"


def check_completion(engagement: Engagement, completed_on: date, today: date) -> None:
    """Raise CompletionRefused unless `completed_on` may be recorded for this engagement."""
    if not is_completable(engagement):
        raise CompletionRefused(f"{engagement.service.name} is billed by the calendar, not when marked complete.")
    if completed_on > today:
        raise CompletionRefused("The completion date cannot be in the future.")
    if completed_on < engagement.start_date:
        raise CompletionRefused(f"The completion date cannot be before the start date "
                                f"({engagement.start_date:%-d %b %Y}).")
    method = BillingMethod(engagement.service.billing_method)
    if method is BillingMethod.ONCE:
        if engagement.completions:
            done = engagement.completions[0].completed_on
            raise CompletionRefused(f"This one-off work was already marked complete on {done:%-d %b %Y}.")
        return
    index = cadence.completion_period(method, engagement.start_date, completed_on)
    for completion in engagement.completions:
        if cadence.completion_period(method, engagement.start_date, completion.completed_on) == index:
            noun = PERIOD_NAMES[method]
            raise CompletionRefused(
                f"The {noun} {_period_span(method, engagement.start_date, index)} was already marked complete "
                f"on {completion.completed_on:%-d %b %Y}; each {noun} is billed once.")


def mark_complete(engagement: Engagement, completed_on: date, today: date,
                  user_id: int | None) -> EngagementCompletion:
    """Record that the work was completed on `completed_on`: the Billing Plan bills it once. Commits.

    Takes the practice's billing lock: two requests cannot both pass the once-per-period check, and a
    running approval finishes first.
    """
    lock.lock_practice(engagement.practice_id)
    db.session.refresh(engagement, ["completions"])
    check_completion(engagement, completed_on, today)
    completion = EngagementCompletion(practice_id=engagement.practice_id, engagement_id=engagement.id,
                                      completed_on=completed_on, created_by_id=user_id)
    db.session.add(completion)
    db.session.commit()
    db.session.refresh(engagement, ["completions"])
    return completion


def undo_completion(completion: EngagementCompletion) -> None:
    """Delete a completion that no invoice has billed yet. Commits.

    Takes the practice's billing lock, so it waits for a running approval and then sees whether that
    approval billed it.
    """
    lock.lock_practice(completion.practice_id)
    invoiced = invoiced_completions([completion.engagement]).get(completion.id)
    if invoiced:
        raise CompletionRefused(f"Already invoiced on {invoiced}, so it cannot be undone.")
    engagement = completion.engagement
    db.session.delete(completion)
    try:
        db.session.commit()
    except IntegrityError as error:  # an approval billed it in the meantime (the ledger refers to it)
        db.session.rollback()
        raise CompletionRefused("It was invoiced a moment ago, so it cannot be undone.") from error
    db.session.refresh(engagement, ["completions"])
