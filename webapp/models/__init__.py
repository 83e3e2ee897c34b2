"""All models, importable from one place (Alembic sees them through here)."""
from webapp.models.billing import (  # noqa: F401
    BilledCharge,
    BillingRun,
    BillingRunClient,
    BillingSettings,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    XeroPostStatus,
)
from webapp.models.billing_plan import BillingPlanRow, BillingPlanState, BillingPlanVersion  # noqa: F401
from webapp.models.client import Client, ClientStatus  # noqa: F401
from webapp.models.contacts import (  # noqa: F401
    ClientContactLink,
    ContactPull,
    ContactSyncIssue,
    LinkOutcome,
    SyncIssueKind,
    XeroContact,
)
from webapp.models.invoice_posting import (  # noqa: F401
    InvoicePosting,
    InvoicePostingRun,
    PostingRunStatus,
    XeroInvoiceState,
    XeroInvoiceStatus,
)
from webapp.models.practice import Practice, PrimaryCRM, Role, User  # noqa: F401
from webapp.models.pricing import (  # noqa: F401
    BillingMethod,
    Engagement,
    EngagementCompletion,
    PricingMenu,
    Service,
)
from webapp.models.xero import (  # noqa: F401
    ConnectionStatus,
    NightlyDispatch,
    SyncRun,
    SyncStatus,
    XeroAccount,
    XeroBrandingTheme,
    XeroConnection,
    XeroTaxRate,
)
