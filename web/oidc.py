"""Signing in through the council's OpenID Connect provider (Entra ID and the like), with
Authlib's Starlette client: discovery from the issuer, the authorization code flow with
PKCE, state and nonce checked, the ID token's signature checked against the provider's
keys. The user is the one an admin linked to the token's ``sub`` (``ifss users link``).

Authlib keeps its state in ``request.session``; here that is the server-side session's
data (``web.session``), so nothing of it rides in a cookie.
"""

from __future__ import annotations

from typing import Any

import structlog
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.starlette_client import OAuth
from starlette.requests import Request
from starlette.responses import Response

from web import session as sessions

log = structlog.get_logger(__name__)


class OidcClient:
    def __init__(
        self, issuer: str, client_id: str, client_secret: str, public_url: str | None
    ) -> None:
        self.oauth = OAuth()
        self.oauth.register(
            "council",
            client_id=client_id,
            client_secret=client_secret,
            server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={"scope": "openid", "code_challenge_method": "S256"},
        )
        self.public_url = public_url.rstrip("/") if public_url else None

    def _callback(self, request: Request) -> str:
        base = self.public_url or str(request.base_url).rstrip("/")
        return base + "/app/sign-in/oidc/callback"

    async def redirect(self, request: Request, pool: Any, current: sessions.WebSession) -> Response:
        request.scope["session"] = current.data
        next_path = request.query_params.get("next")
        from web.routes import safe_next

        current.data["next"] = safe_next(next_path)
        response: Response = await self.oauth.council.authorize_redirect(
            request, self._callback(request)
        )
        await sessions.save_data(pool, current)
        return response

    async def subject(
        self, request: Request, pool: Any, current: sessions.WebSession
    ) -> str | None:
        """The ``sub`` of the provider's verified ID token, or ``None`` when the answer is
        refused (state, nonce, signature, an error from the provider)."""
        request.scope["session"] = current.data
        try:
            token = await self.oauth.council.authorize_access_token(request)
        except (OAuthError, ValueError, KeyError) as exc:
            log.warning("oidc_refused", error=type(exc).__name__)
            return None
        finally:
            await sessions.save_data(pool, current)
        claims = token.get("userinfo") or {}
        subject = claims.get("sub")
        return subject if isinstance(subject, str) and 0 < len(subject) <= 255 else None
