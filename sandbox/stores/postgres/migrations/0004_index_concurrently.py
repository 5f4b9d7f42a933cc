"""CREATE INDEX CONCURRENTLY: writes go on (SHARE UPDATE EXCLUSIVE); it waits for older transactions and, if it
fails, leaves an INVALID index behind, so up drops a leftover first."""

TABLE = "orders"
TRANSACTION = False
UP = ("DROP INDEX CONCURRENTLY IF EXISTS {s}.orders_total_concurrent",
      "CREATE INDEX CONCURRENTLY orders_total_concurrent ON {s}.orders (total_amount)")
DOWN = "DROP INDEX CONCURRENTLY IF EXISTS {s}.orders_total_concurrent"
