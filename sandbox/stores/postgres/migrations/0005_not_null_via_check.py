"""NOT NULL without a long ACCESS EXCLUSIVE scan: CHECK (col IS NOT NULL) NOT VALID, VALIDATE (SHARE UPDATE
EXCLUSIVE: writes go on), then SET NOT NULL uses the valid check instead of scanning (PostgreSQL 12+)."""

TABLE = "orders"
TRANSACTION = False  # each step commits on its own, so the validating scan does not hold the strong lock
UP = ("ALTER TABLE {s}.orders DROP CONSTRAINT IF EXISTS public_ref_not_null",
      "ALTER TABLE {s}.orders ADD CONSTRAINT public_ref_not_null CHECK (public_ref IS NOT NULL) NOT VALID",
      "ALTER TABLE {s}.orders VALIDATE CONSTRAINT public_ref_not_null",
      "ALTER TABLE {s}.orders ALTER COLUMN public_ref SET NOT NULL",
      "ALTER TABLE {s}.orders DROP CONSTRAINT public_ref_not_null")
DOWN = "ALTER TABLE {s}.orders ALTER COLUMN public_ref DROP NOT NULL"
