"""The SQL functions CQL2 filters call: accent_fold (ACCENTI, over unaccent) and cql2_power (^)

ACCENTI needs accents taken off both sides of a comparison: PostgreSQL's unaccent extension does
it for Latin letters (é, â, ß stays). It is called through accent_fold so that one function holds
the definition: the normalisation of Arabic (short vowels, the forms of alef and of ta marbuta) is
to be added there for the search to come, and CQL2 will follow. It is STABLE as unaccent is; an index
on it would need an IMMUTABLE wrapper naming its dictionary.

Arithmetic runs in numeric, where the sums and products of a filter's at most 20 operations on finite
numbers cannot overflow (1e308 ^ 21 has 6,500 digits; numeric holds 131,072), and x / 0 is null
through NULLIF; but power() still raises for 0 ^ -1, (-8) ^ 0.5 or 10 ^ 1e9, which would fail the
whole query (a 500). cql2_power answers null there, and beyond 1e308, so that its result stays a
number the other operations cannot overflow with.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("""
        CREATE OR REPLACE FUNCTION accent_fold(value text) RETURNS text
        LANGUAGE sql STABLE STRICT PARALLEL SAFE
        AS $$ SELECT unaccent(value) $$
    """)
    op.execute("""
        CREATE OR REPLACE FUNCTION cql2_power(base numeric, exponent numeric) RETURNS numeric
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
        AS $$
        BEGIN
            -- Beyond what a double holds is out of range; asking first also spares computing 9 ^ 100000,
            -- 95,000 digits in 70 ms a row.
            IF base <> 0 AND exponent * log(abs(base)) > 308 THEN
                RETURN NULL;
            END IF;
            RETURN power(base, exponent);
        EXCEPTION WHEN data_exception THEN  -- 0 ^ -1, or no real result as (-8) ^ 0.5
            RETURN NULL;
        END
        $$
    """)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS cql2_power(numeric, numeric)")
    op.execute("DROP FUNCTION IF EXISTS accent_fold(text)")
    op.execute("DROP EXTENSION IF EXISTS unaccent")
