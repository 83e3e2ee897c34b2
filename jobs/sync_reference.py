"""The sync job: reference data (account codes, branding themes, tax rates) and contacts for one SyncRun."""
from jobs import app_context


def run_reference_sync(sync_run_id: int) -> str:
    """Run SyncRun `sync_run_id` (queued by webapp.sync.sync_runs.start_sync); returns its status."""
    from webapp.sync.reference_sync import run_reference_sync as run

    with app_context() as app:
        return run(sync_run_id, app.config)
