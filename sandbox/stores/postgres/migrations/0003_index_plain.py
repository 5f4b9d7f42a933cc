"""CREATE INDEX: takes a SHARE lock, so writes to the table wait until the index is built."""

TABLE = "orders"
UP = "CREATE INDEX orders_created_at_plain ON {s}.orders (created_at)"
DOWN = "DROP INDEX {s}.orders_created_at_plain"
