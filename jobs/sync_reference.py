"""The sync job: one practice's SyncRun, step by step (webapp.sync.practice_sync)."""
from jobs import app_context


def run_reference_sync(sync_run_id: int) -> str:
    """Run SyncRun `sync_run_id` (queued by webapp.sync.sync_runs.start_sync); returns its status. A nightly run
    that failed for a reason that may pass is tried again later (webapp.sync.sync_retries)."""
    from webapp.sync.practice_sync import run_practice_sync
    from webapp.sync.sync_retries import retry_later

    with app_context() as app:
        status = run_practice_sync(sync_run_id, app.config)
        retry_later(sync_run_id)
        return status


def retry_sync(practice_id: int, attempt: int) -> int | None:
    """Start attempt `attempt` of the practice's sync (queued by retry_later); returns the new run's id, if any."""
    from webapp.sync.sync_retries import start_retry

    with app_context():
        run = start_retry(practice_id, attempt)
        return run.id if run else None
