"""The platform API (`/api/v1/`): integrations authenticate with an API key, each endpoint asks a scope,
and every error has one shape. A user interface like the portal and the console: it validates, calls
the same services and selectors, and holds no business rules."""
