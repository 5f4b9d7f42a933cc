"""Cache-aside: Redis in front of PostgreSQL, with the policies that keep a hot key from stampeding."""
