"""Who may use the engine: users, roles, API tokens and alert routes, in PostgreSQL.

Beneath the API, the CLI and the workers alike (none of them needs the others to ask
who someone is)."""
