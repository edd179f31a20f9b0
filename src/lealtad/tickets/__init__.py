"""Earning by scanning the ticket: business-signed receipt codes and VERI*FACTU invoice QRs."""
