"""A real SMTP server (aiosmtpd) for the welcome e-mail's wallet links."""

from tests.comms.conftest import inbox  # noqa: F401  (fixture)
