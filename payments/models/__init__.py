from payments.models.billing import (
    PartnerInvoice,
    PartnerInvoiceLine,
    PartnerPayout,
    PartnerPricing,
)
from payments.models.bookings import Booking, BookingLineItem, Payment, Refund
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
    "ConnectedAccount",
    "PartnerInvoice",
    "PartnerInvoiceLine",
    "PartnerPayment",
    "PartnerPayout",
    "PartnerPricing",
    "PartnerTransfer",
    "Payment",
    "Refund",
    "SpecialistPayout",
    "StripeEvent",
]
