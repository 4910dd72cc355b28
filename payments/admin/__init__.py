"""Payments console, one module per concern: ``core`` (bookings, payments and refunds,
payouts, partner payments and billing, subscriptions), ``catalogue`` (services and prices,
discount codes, tax rates, billing profiles) and ``invoices`` (patients' invoices with their
HTML and PDF preview). Importing them registers their admins."""

from payments.admin import catalogue, core, invoices

__all__ = ["catalogue", "core", "invoices"]
