"""The SQL functions CQL2 filters call: accent_fold (ACCENTI, over unaccent) and cql2_power (^)

ACCENTI needs accents taken off both sides of a comparison: PostgreSQL's unaccent extension does
it for Latin letters (é, â, ß stays). It is called through accent_fold so that one function holds
the definition: the normalisation of Arabic (short vowels, the forms of alef and of ta marbuta) is
to be added there for the search to come, and CQL2 will follow. It is STABLE as unaccent is; an index
on it would need an IMMUTABLE wrapper naming its dictionary.

Arithmetic runs in numeric, where no sum or product of the filter's finite numbers can overflow, and
x / 0 is null through NULLIF; but power() still raises for 0 ^ -1, (-8) ^ 0.5 or 10 ^ 1e9, which
would fail the whole query (a 500). cql2_power answers null there instead, as SQL does for nulls.

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
            RETURN power(base, exponent);
        EXCEPTION WHEN data_exception THEN  -- out of range, or no real result
            RETURN NULL;
        END
        $$
    """)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS cql2_power(numeric, numeric)")
    op.execute("DROP FUNCTION IF EXISTS accent_fold(text)")
    op.execute("DROP EXTENSION IF EXISTS unaccent")
