"""ADD COLUMN with a constant default: a catalog change only (PostgreSQL 11+), the table is not rewritten."""

TABLE = "orders"
UP = "ALTER TABLE {s}.orders ADD COLUMN channel TEXT NOT NULL DEFAULT 'web'"
DOWN = "ALTER TABLE {s}.orders DROP COLUMN channel"
