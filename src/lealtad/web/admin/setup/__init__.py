"""The guided set-up of a new business: its steps, forms and templates together."""
