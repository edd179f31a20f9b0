"""The brand screen of the console (logo and colour) and the public logo address."""
