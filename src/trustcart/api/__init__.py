"""The HTTP API: the FastAPI app, API-key authentication with scopes, error mapping, hardening.

Routers stay thin: they parse, call the domain package and render. The single-decision route
is answered by a plain ASGI handler (``fastpath``) with the same checks and bodies.
"""
