"""HTTP routers, one module per domain; each route declares its scope with ``requires``."""
