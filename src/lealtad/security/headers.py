"""Security headers on every answer: a content security policy, no sniffing, no framing, a strict
referrer policy, the browser features the pages may use, HSTS behind https, and no caching of
anything but the static files (pages and API answers carry personal data)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lealtad.config import Settings

# Scripts only from our own files (no inline script, no eval): an injected <script> or onclick=
# does nothing. Styles allow inline because the pages draw data with style attributes (heat-map
# colours, chart heights, bar widths) and htmx adds its indicator <style>; CSS cannot run code.
# img data: is the two-step set-up QR (a PNG data URI); the wallet's QR codes are inline SVG.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
    )
)
# FastAPI's /docs and /redoc load Swagger UI and ReDoc from their CDN with an inline start-up
# script; those pages show only the public API description and hold no session, so they get a
# policy of their own instead of vendoring two more bundles.
DOCS_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
        "font-src 'self' https://fonts.gstatic.com",
        "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
# The counter reads QR codes with the camera; nothing else is needed.
PERMISSIONS_POLICY = "camera=(self), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=31536000; includeSubDomains"
# Vendored and own scripts, styles and icons: public, the same for everyone, fine to cache.
CACHEABLE_PREFIXES = ("/static/",)


def security_headers(settings: Settings) -> list[tuple[str, str]]:
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if settings.public_base_url.startswith("https://"):
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


class SecurityHeadersMiddleware:
    """Adds the headers to every HTTP answer, keeping any a route set itself (such as its own
    Cache-Control). Everything but /static/ is `no-store`: pages and API answers are mostly
    about a signed-in person or a business, and a shared computer's cache must not keep them.
    The headers are encoded once here; each answer only appends the ones it lacks."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        common = [(n.lower().encode(), v.encode()) for n, v in security_headers(settings)]
        csp = b"content-security-policy"
        no_store = (b"cache-control", b"no-store")
        self._pages = [(csp, CONTENT_SECURITY_POLICY.encode()), *common, no_store]
        self._docs = [(csp, DOCS_POLICY.encode()), *common, no_store]
        self._static = [(csp, CONTENT_SECURITY_POLICY.encode()), *common]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if path.startswith(CACHEABLE_PREFIXES):
            extra = self._static
        else:
            extra = self._docs if path in DOCS_PATHS else self._pages

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in extra if pair[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
