"""The posting job: post a practice's outstanding invoices to Xero for one InvoicePostingRun."""
from jobs import app_context


def run_posting(posting_run_id: int) -> str:
    """Run InvoicePostingRun `posting_run_id` (queued by webapp.sync.invoice_posting_runs.start_posting); returns
    its status."""
    from webapp.sync.invoice_posting_runs import run_posting as run

    with app_context() as app:
        return run(posting_run_id, app.config)
