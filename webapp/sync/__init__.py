"""Plain-Python sync with Xero: the sync-run bookkeeping (queueing one run per practice), the reference data
(account codes, branding themes, tax rates) and contacts pulled into local mirror tables, matching clients to
contacts and storing the decisions, and what the UI needs to review them. No flask.request here."""
