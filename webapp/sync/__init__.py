"""Plain-Python sync with Xero: the sync-run bookkeeping (queueing one run per practice) and the reference
data (account codes, branding themes, tax rates) pulled into local mirror tables. No flask.request here."""
