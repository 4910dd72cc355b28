"""payments writes, by concern: bookings, stripe_webhooks, refunds, payouts, partner_payments,
partner_billing, subscriptions. Other apps call ``partner_payments.partner_payment_accrue``."""
