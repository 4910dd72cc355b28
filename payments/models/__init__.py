from payments.models.billing import (
    PartnerInvoice,
    PartnerInvoiceLine,
    PartnerPayout,
    PartnerPricing,
)
from payments.models.bookings import Booking, BookingLineItem, Payment, Refund
from payments.models.catalogue import (
    CatalogueService,
    ClinicBillingProfile,
    DiscountCode,
    ServicePrice,
    TaxRate,
)
from payments.models.invoices import ImmutableInvoiceError, InvoiceSequence, PatientInvoice
from payments.models.partner_payments import PartnerPayment, PartnerTransfer
from payments.models.payouts import ConnectedAccount, SpecialistPayout
from payments.models.stripe_events import StripeEvent
from payments.models.subscriptions import BillingAccount, BillingCharge, BillingEvent

__all__ = [
    "BillingAccount",
    "BillingCharge",
    "BillingEvent",
    "Booking",
    "BookingLineItem",
    "CatalogueService",
    "ClinicBillingProfile",
    "ConnectedAccount",
    "DiscountCode",
    "ImmutableInvoiceError",
    "InvoiceSequence",
    "PartnerInvoice",
    "PartnerInvoiceLine",
    "PartnerPayment",
    "PartnerPayout",
    "PartnerPricing",
    "PartnerTransfer",
    "PatientInvoice",
    "Payment",
    "Refund",
    "ServicePrice",
    "SpecialistPayout",
    "StripeEvent",
    "TaxRate",
]
