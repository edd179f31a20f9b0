"""Lealtad: open-source loyalty platform."""

__version__ = "0.1.0"
