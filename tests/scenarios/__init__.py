"""Scenario tests: one scripted member history per program template, replayed through the API
with the clock moved between steps, asserting exact balances, stamps, tiers and rewards."""
