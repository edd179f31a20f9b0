"""Bulk imports of purchases and members from files, through the same services as the API."""
