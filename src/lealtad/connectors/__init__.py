"""Connectors for tills and shops: each vendor's webhooks verified, mapped to a sale or a refund,
and recorded through the one purchase path, idempotent by the vendor's own ids."""
