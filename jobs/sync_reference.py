"""The sync job: one practice's SyncRun, step by step (webapp.sync.practice_sync)."""
from jobs import app_context


def run_reference_sync(sync_run_id: int) -> str:
    """Run SyncRun `sync_run_id` (queued by webapp.sync.sync_runs.start_sync); returns its status."""
    from webapp.sync.practice_sync import run_practice_sync

    with app_context() as app:
        return run_practice_sync(sync_run_id, app.config)
