"""The webhook refresh job: what Xero's webhooks named for one practice, fetched and stored."""
from jobs import app_context


def refresh_from_webhooks(practice_id: int) -> dict:
    """Refresh the contacts and invoices webhooks named for `practice_id`; returns what was done."""
    from webapp.sync.webhook_refresh import refresh_from_webhooks as refresh

    with app_context() as app:
        result = refresh(practice_id, app.config)
        return {"contacts": result.contacts, "invoices": result.invoices, "calls": result.calls}
