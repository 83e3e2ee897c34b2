"""Billing: the monthly plan, approving it, and the invoices it raises.

plan (what each client will be invoiced and why), approval (raising a month's invoices), cadence (when a
service falls due), changes (how agreed work changed), lines / dates / tax (how an invoice is laid out, dated
and taxed), invoices (the invoice list), completions (billing on completion), settings, lock.
"""
