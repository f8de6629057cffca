"""initial schema: sites, associations, projects, forum sessions

Revision ID: 0001
Revises: 
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('associations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name_ar', sa.Text(), nullable=True),
    sa.Column('name_fr', sa.Text(), nullable=True),
    sa.Column('name_en', sa.Text(), nullable=True),
    sa.Column('themes', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('contact', sa.Text(), nullable=True),
    sa.Column('website', sa.Text(), nullable=True),
    sa.Column('description_ar', sa.Text(), nullable=True),
    sa.Column('description_fr', sa.Text(), nullable=True),
    sa.Column('description_en', sa.Text(), nullable=True),
    sa.Column('sources', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("ST_GeometryType(geom) IN ('ST_Point', 'ST_LineString', 'ST_Polygon', 'ST_MultiPoint', 'ST_MultiLineString', 'ST_MultiPolygon') AND ST_IsValid(geom)", name=op.f('ck_associations_geom_shape')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'published', 'withdrawn')", name=op.f('ck_associations_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_associations')),
    sa.UniqueConstraint('slug', name=op.f('uq_associations_slug'))
    )
    op.create_index('ix_associations_geom', 'associations', ['geom'], unique=False, postgresql_using='gist')
    op.create_table('forum_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('edition', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('dates', sa.Text(), nullable=True),
    sa.Column('slogan_ar', sa.Text(), nullable=True),
    sa.Column('slogan_fr', sa.Text(), nullable=True),
    sa.Column('slogan_en', sa.Text(), nullable=True),
    sa.Column('workshops', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('recommendations', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=True),
    sa.Column('sources', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forum_sessions')),
    sa.UniqueConstraint('edition', name=op.f('uq_forum_sessions_edition'))
    )
    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('ref', sa.String(length=40), nullable=True),
    sa.Column('name_ar', sa.Text(), nullable=True),
    sa.Column('name_fr', sa.Text(), nullable=True),
    sa.Column('name_en', sa.Text(), nullable=True),
    sa.Column('name_zgh', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('description_ar', sa.Text(), nullable=True),
    sa.Column('description_fr', sa.Text(), nullable=True),
    sa.Column('description_en', sa.Text(), nullable=True),
    sa.Column('period', sa.Text(), nullable=True),
    sa.Column('protection_status', sa.String(length=20), nullable=False),
    sa.Column('protection_ref', sa.Text(), nullable=True),
    sa.Column('protection_date', sa.Date(), nullable=True),
    sa.Column('protection_buffer_m', sa.Integer(), nullable=True),
    sa.Column('condition', sa.String(length=20), nullable=False),
    sa.Column('condition_date', sa.Date(), nullable=True),
    sa.Column('threats', sa.Text(), nullable=True),
    sa.Column('visiting_info', sa.Text(), nullable=True),
    sa.Column('sources', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('coord_confidence', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("ST_GeometryType(geom) IN ('ST_Point', 'ST_LineString', 'ST_Polygon', 'ST_MultiPoint', 'ST_MultiLineString', 'ST_MultiPolygon') AND ST_IsValid(geom)", name=op.f('ck_sites_geom_shape')),
    sa.CheckConstraint("category IN ('rampart', 'gate', 'kasbah', 'mosque', 'zaouia', 'square', 'souk', 'palace', 'museum', 'craft_site', 'cemetery', 'garden', 'palm_grove', 'argan_forest', 'river', 'protected_area', 'viewpoint', 'mountain')", name=op.f('ck_sites_category')),
    sa.CheckConstraint("condition IN ('good', 'fair', 'poor', 'very_bad', 'unknown')", name=op.f('ck_sites_condition')),
    sa.CheckConstraint("coord_confidence IN ('surveyed', 'high', 'medium', 'low', 'estimated')", name=op.f('ck_sites_coord_confidence')),
    sa.CheckConstraint("kind IN ('heritage', 'environment')", name=op.f('ck_sites_kind')),
    sa.CheckConstraint("protection_status IN ('classified', 'protected_area', 'none', 'unknown')", name=op.f('ck_sites_protection_status')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'published', 'withdrawn')", name=op.f('ck_sites_status')),
    sa.CheckConstraint('protection_buffer_m IS NULL OR protection_buffer_m >= 0', name=op.f('ck_sites_buffer_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('slug', name=op.f('uq_sites_slug'))
    )
    op.create_index('ix_sites_geom', 'sites', ['geom'], unique=False, postgresql_using='gist')
    op.create_index('ix_sites_updated_at_id', 'sites', ['updated_at', 'id'], unique=False)
    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title_ar', sa.Text(), nullable=True),
    sa.Column('title_fr', sa.Text(), nullable=True),
    sa.Column('title_en', sa.Text(), nullable=True),
    sa.Column('description_ar', sa.Text(), nullable=True),
    sa.Column('description_fr', sa.Text(), nullable=True),
    sa.Column('description_en', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('publication_status', sa.String(length=20), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('themes', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('partners', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('forum_session_id', sa.Integer(), nullable=True),
    sa.Column('sources', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("ST_GeometryType(geom) IN ('ST_Point', 'ST_LineString', 'ST_Polygon', 'ST_MultiPoint', 'ST_MultiLineString', 'ST_MultiPolygon') AND ST_IsValid(geom)", name=op.f('ck_projects_geom_shape')),
    sa.CheckConstraint("publication_status IN ('draft', 'submitted', 'published', 'withdrawn')", name=op.f('ck_projects_publication_status')),
    sa.CheckConstraint("status IN ('proposed', 'active', 'completed', 'paused')", name=op.f('ck_projects_status')),
    sa.CheckConstraint('end_date IS NULL OR start_date IS NULL OR end_date >= start_date', name=op.f('ck_projects_dates_ordered')),
    sa.ForeignKeyConstraint(['forum_session_id'], ['forum_sessions.id'], name=op.f('fk_projects_forum_session_id_forum_sessions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('slug', name=op.f('uq_projects_slug'))
    )
    op.create_index('ix_projects_geom', 'projects', ['geom'], unique=False, postgresql_using='gist')
    op.create_table('project_associations',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('association_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.CheckConstraint("role IN ('lead', 'partner')", name=op.f('ck_project_associations_role')),
    sa.ForeignKeyConstraint(['association_id'], ['associations.id'], name=op.f('fk_project_associations_association_id_associations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_associations_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'association_id', name=op.f('pk_project_associations'))
    )
    op.create_index(op.f('ix_project_associations_association_id'), 'project_associations', ['association_id'], unique=False)
    op.create_table('project_sites',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_sites_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_project_sites_site_id_sites'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('project_id', 'site_id', name=op.f('pk_project_sites'))
    )
    op.create_index(op.f('ix_project_sites_site_id'), 'project_sites', ['site_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_project_sites_site_id'), table_name='project_sites')
    op.drop_table('project_sites')
    op.drop_index(op.f('ix_project_associations_association_id'), table_name='project_associations')
    op.drop_table('project_associations')
    op.drop_index('ix_projects_geom', table_name='projects', postgresql_using='gist')
    op.drop_table('projects')
    op.drop_index('ix_sites_updated_at_id', table_name='sites')
    op.drop_index('ix_sites_geom', table_name='sites', postgresql_using='gist')
    op.drop_table('sites')
    op.drop_table('forum_sessions')
    op.drop_index('ix_associations_geom', table_name='associations', postgresql_using='gist')
    op.drop_table('associations')
