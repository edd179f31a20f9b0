"""Security tests: who may reach which route, tenant isolation of pages, CSRF, and the rest of issue 8."""
