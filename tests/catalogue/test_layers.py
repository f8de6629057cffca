"""The layer registry is the one list: every part of the app serves exactly the layers and views it declares."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from factories import make_site
from heritage_map.catalogue import layers, vocab
from heritage_map.catalogue.models import Association, Project, Site
from heritage_map.cli import EXPORT_LAYERS
from heritage_map.ogc.collections import COLLECTIONS
from heritage_map.web import maps

LINKS = {"forum_edition", "sites", "associations"}  # file fields that name linked records, not columns


@pytest.mark.parametrize("layer", layers.LAYERS.values(), ids=lambda layer: layer.key)
def test_every_name_a_layer_declares_is_a_column_of_its_model(layer):
    columns = set(inspect(layer.model).columns.keys())
    for name in [*(f.name for f in layer.fields), *(f.column for f in layer.filters), *layer.sortables,
                 *layer.enums]:
        assert name in columns or name in LINKS, name
    assert set(layer.queryables) - {"geometry"} <= columns
    assert set(layer.enums) <= set(layer.queryables)


@pytest.mark.parametrize("layer", layers.LAYERS.values(), ids=lambda layer: layer.key)
def test_a_view_picks_its_records_with_its_layers_filters_and_their_values(layer):
    for view in layer.views:
        for name, value in view.match.items():
            assert value in layer.filter(name).values


def test_layers_load_after_the_layers_their_records_link_to():
    order = [layer.key for layer in layers.load_order()]
    assert sorted(order) == sorted(layers.LAYERS)
    for layer in layers.LAYERS.values():
        assert all(order.index(other) < order.index(layer.key) for other in layer.links_to)


def test_an_unknown_layer_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown layer 'trails' \\(known: sites, projects, associations\\)"):
        layers.get("trails")


def test_every_view_is_an_ogc_collection_an_export_and_a_map_layer(client):
    assert list(COLLECTIONS) == list(layers.VIEWS)
    assert [key for key, _label, _colour in maps.LAYERS] == [view.map_key for _layer, view in layers.map_views()]
    for view_id, (layer, view) in layers.VIEWS.items():
        assert COLLECTIONS[view_id].layer == layer.key and COLLECTIONS[view_id].title == view.title
        assert client.get(f"/api/export/{view_id}?format=csv").status_code == 200


def test_every_layer_has_its_api_route_its_pages_its_export_and_its_cli_name(client, app):
    assert EXPORT_LAYERS == tuple(layers.LAYERS)
    rules = {rule.endpoint for rule in app.url_map.iter_rules()}
    for key, layer in layers.LAYERS.items():
        assert f"api.{key}" in rules and layer.page in rules
        assert client.get(f"/api/{key}").status_code == 200
        assert client.get(f"/api/export/{key}?format=geojson").status_code == 200


def test_a_feature_goes_to_the_last_view_of_its_layer_it_matches_on_the_map():
    sorting = maps.SORTING["sites"]
    assert [key for key, _match in sorting] == ["heritage", "environment", "ramparts"]

    def map_layer(props: dict) -> str:
        return [key for key, match in sorting if all(props.get(k) == v for k, v in match.items())][-1]

    assert map_layer({"kind": "heritage", "category": "rampart"}) == "ramparts"
    assert map_layer({"kind": "heritage", "category": "gate"}) == "heritage"
    assert map_layer({"kind": "environment", "category": "river"}) == "environment"


def test_every_publishable_table_has_one_publication_state_with_the_same_values(connection):
    listed = "ARRAY[" + ", ".join(f"'{s}'::character varying" for s in vocab.PUBLICATION_STATES) + "]"
    for model in (Site, Association, Project):
        assert "publication_status" in inspect(model).columns
        check = connection.scalar(text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name"),
            {"name": f"ck_{model.__tablename__}_publication_status"})
        assert listed in check, check


@pytest.mark.parametrize("slug", ["Bab-Taghount", "bab--taghount", "bab taghount", 'bab"x', "-bab", "bab-"])
def test_the_database_refuses_a_slug_that_is_not_a_url_part(session, slug):
    with pytest.raises(IntegrityError, match="ck_sites_slug_format"), session.begin_nested():
        make_site(session, slug=slug)
