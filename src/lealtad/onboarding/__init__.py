"""The guided set-up of a new business: where the owner is, what they chose, going live."""
