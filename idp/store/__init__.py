"""Storage: SQLModel tables, the engine, and the repositories (the only place with queries)."""
