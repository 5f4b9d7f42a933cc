"""A CHECK constraint added NOT VALID (new rows checked at once, no scan), then VALIDATE in its own
transaction (scans the table without blocking writes)."""

TABLE = "orders"
TRANSACTION = False
UP = ("ALTER TABLE {s}.orders DROP CONSTRAINT IF EXISTS orders_total_cap",
      "ALTER TABLE {s}.orders ADD CONSTRAINT orders_total_cap CHECK (total_amount < 1000000) NOT VALID",
      "ALTER TABLE {s}.orders VALIDATE CONSTRAINT orders_total_cap")
DOWN = "ALTER TABLE {s}.orders DROP CONSTRAINT IF EXISTS orders_total_cap"
