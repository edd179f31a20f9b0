"""Security: rate limits, headers, field encryption and other protections of issue 8."""
