"""ADD COLUMN with a volatile default (gen_random_uuid()): every row gets its own value, the table is rewritten
under an ACCESS EXCLUSIVE lock."""

TABLE = "orders"
UP = "ALTER TABLE {s}.orders ADD COLUMN public_ref UUID DEFAULT gen_random_uuid()"
DOWN = "ALTER TABLE {s}.orders DROP COLUMN public_ref"
