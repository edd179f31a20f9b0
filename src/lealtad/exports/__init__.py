"""`lealtad export`: a business's members, purchases or ledger as CSV, streamed."""
