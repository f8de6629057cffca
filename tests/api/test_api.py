"""The GeoJSON API: valid FeatureCollections inside the Taroudant area, exact filters, and JSON errors."""

from __future__ import annotations

import pytest
from shapely.geometry import shape

from factories import make_site
from seed_facts import MEDINA_BOX as MEDINA

LAYERS = {"sites": 33, "projects": 7, "associations": 5}
GEOMETRY_TYPES = {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"}
# lon_min, lat_min, lon_max, lat_max
TAROUDANT_AREA = (-10.0, 29.9, -7.5, 31.2)
SITE_PROPERTIES = {"slug", "name_en", "name_fr", "name_ar", "kind", "category", "sources", "coord_confidence",
                   "url", "sample"}


def get_collection(client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.mimetype == "application/geo+json"
    body = response.get_json(force=True)
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"])
    return body


def slugs(body: dict) -> list[str]:
    return [f["properties"]["slug"] for f in body["features"]]


def inside(geometry: dict, box: tuple[float, float, float, float]) -> bool:
    lon_min, lat_min, lon_max, lat_max = shape(geometry).bounds
    return box[0] <= lon_min and lon_max <= box[2] and box[1] <= lat_min and lat_max <= box[3]


def bad_request(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == "InvalidParameterValue"
    return body["description"]


@pytest.mark.parametrize("layer, total", LAYERS.items())
def test_each_layer_is_a_geojson_feature_collection_of_every_published_record(client, layer, total):
    body = get_collection(client, f"/api/{layer}")
    assert body["numberReturned"] == total
    assert slugs(body) == sorted(slugs(body))
    assert len(set(slugs(body))) == total


@pytest.mark.parametrize("layer", LAYERS)
def test_every_geometry_is_valid_geojson_of_an_allowed_type(client, layer):
    for feature in get_collection(client, f"/api/{layer}")["features"]:
        assert feature["type"] == "Feature"
        assert feature["id"] == feature["properties"]["slug"]
        if feature["geometry"] is None:
            continue
        assert feature["geometry"]["type"] in GEOMETRY_TYPES
        assert shape(feature["geometry"]).is_valid, feature["id"]
        assert "crs" not in feature["geometry"]


def test_only_the_real_associations_and_projects_have_no_geometry(client):
    for layer in ("associations", "projects"):
        features = get_collection(client, f"/api/{layer}")["features"]
        located = sorted(f["id"] for f in features if f["geometry"] is not None)
        assert located == sorted(f["id"] for f in features if f["properties"]["sample"])


@pytest.mark.parametrize("layer", LAYERS)
def test_every_located_feature_lies_in_the_taroudant_area(client, layer):
    features = get_collection(client, f"/api/{layer}")["features"]
    outside = [f["id"] for f in features if f["geometry"] and not inside(f["geometry"], TAROUDANT_AREA)]
    assert outside == []


def test_the_far_sites_are_still_inside_the_area_but_outside_the_medina(client):
    features = {f["id"]: f for f in get_collection(client, "/api/sites")["features"]}
    for slug in ("souss-river-mouth", "souss-river-source", "souss-massa-national-park", "jbel-toubkal",
                 "toubkal-national-park"):
        assert inside(features[slug]["geometry"], TAROUDANT_AREA)
        assert not inside(features[slug]["geometry"], MEDINA)


def test_every_gate_lies_in_the_medina(client):
    body = get_collection(client, "/api/sites?category=gate")
    assert body["numberReturned"] == 13
    assert [f["id"] for f in body["features"] if not inside(f["geometry"], MEDINA)] == []


def test_every_site_feature_carries_the_properties_the_map_needs(client):
    for feature in get_collection(client, "/api/sites")["features"]:
        properties = feature["properties"]
        assert SITE_PROPERTIES <= set(properties), feature["id"]
        assert properties["name_en"] and properties["name_fr"], feature["id"]
        assert properties["name_ar"] is None or properties["name_ar"].strip(), feature["id"]
        assert isinstance(properties["sources"], list) and properties["sources"], feature["id"]
        assert properties["url"] == f"/sites/{properties['slug']}"


def test_a_site_feature_has_the_seed_values(client):
    features = {f["id"]: f for f in get_collection(client, "/api/sites")["features"]}
    khemis = features["bab-el-khemis"]
    assert khemis["geometry"] == {"type": "Point", "coordinates": [-8.8753605, 30.4786022]}
    assert (khemis["properties"]["category"], khemis["properties"]["coord_confidence"]) == ("gate", "medium")
    assert khemis["properties"]["name_ar"] == "باب الخميس"
    assert features["bab-sedra"]["properties"]["name_ar"] is None
    assert features["ramparts"]["properties"]["coord_confidence"] == "estimated"
    assert features["ramparts"]["geometry"]["type"] == "LineString"


def test_project_and_association_features_link_to_their_pages(client):
    projects = {f["id"]: f["properties"] for f in get_collection(client, "/api/projects")["features"]}
    assert projects["clean-walls"]["url"] == "/projects/clean-walls"
    assert projects["clean-walls"]["status"] == "completed"
    assert projects["web-portal"]["sources"] == ["https://maghress.com/alittihad/89707"]
    associations = {f["id"]: f["properties"] for f in get_collection(client, "/api/associations")["features"]}
    assert associations["taroudant-bladna"]["url"] == "/associations/taroudant-bladna"
    assert associations["taroudant-bladna"]["themes"] == ["heritage", "cooperation"]


@pytest.mark.parametrize("query, expected", [
    ("kind=heritage", 24), ("kind=environment", 9), ("category=gate", 13), ("category=river", 3),
    ("category=zaouia", 0), ("kind=environment&category=gate", 0), ("kind=heritage&category=kasbah", 2),
    ("kind=", 33), ("limit=5", 5), ("category=gate&limit=20", 13),
])
def test_site_filters_give_exact_counts(client, query, expected):
    assert get_collection(client, f"/api/sites?{query}")["numberReturned"] == expected


def test_the_kind_filter_keeps_only_that_kind(client):
    body = get_collection(client, "/api/sites?kind=environment")
    assert {f["properties"]["kind"] for f in body["features"]} == {"environment"}


@pytest.mark.parametrize("path, expected", [
    ("/api/projects?status=active", ["adha-restoration-2023", "example-rampart-garden",
                                     "romans-taroudant-cooperation"]),
    ("/api/projects?status=completed", ["clean-walls", "municipal-library"]),
    ("/api/projects?status=paused", []),
    ("/api/projects?theme=communication", ["web-portal"]),
    ("/api/associations?theme=youth", ["example-youth-heritage-guides"]),
    ("/api/associations?theme=cooperation", ["forum-associations-taroudant", "taroudant-bladna"]),
])
def test_project_and_association_filters_give_exact_records(client, path, expected):
    assert slugs(get_collection(client, path)) == expected


@pytest.mark.parametrize("path, named", [
    ("/api/sites?kind=castle", "kind must be one of heritage, environment"),
    ("/api/sites?category=fortress", "category must be one of"),
    ("/api/projects?status=done", "status must be one of proposed, active, completed, paused"),
    ("/api/associations?theme=sport", "theme must be one of"),
])
def test_an_unknown_filter_value_is_a_json_400_naming_it(client, path, named):
    description = bad_request(client, path)
    assert named in description
    assert repr(path.rsplit("=", 1)[1]) in description


@pytest.mark.parametrize("path", ["/api/sites?kidn=heritage", "/api/projects?category=gate",
                                  "/api/associations?kind=heritage"])
def test_an_unknown_parameter_is_a_json_400_naming_it(client, path):
    name = path.split("?")[1].split("=")[0]
    assert f"unknown parameter {name}" in bad_request(client, path)


@pytest.mark.parametrize("value", ["0", "abc", "-1", "10001", "2.5"])
def test_a_bad_limit_is_a_json_400(client, value):
    assert f"limit must be a whole number from 1 to 10000 (got '{value}')" == bad_request(
        client, f"/api/sites?limit={value}")


def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/nowhere")
    assert response.status_code == 404
    assert response.get_json()["code"] == "NotFound"


@pytest.mark.parametrize("status", ["draft", "submitted", "withdrawn"])
def test_an_unpublished_site_is_not_in_the_api(client, session, status):
    make_site(session, slug="hidden-site", publication_status=status)
    body = get_collection(client, "/api/sites")
    assert "hidden-site" not in slugs(body)
    assert body["numberReturned"] == 33


def test_a_published_site_added_later_is_in_the_api(client, session):
    make_site(session, slug="new-gate")
    body = get_collection(client, "/api/sites?category=gate")
    assert "new-gate" in slugs(body)
    assert body["numberReturned"] == 14


def test_an_unpublished_project_is_not_in_the_api(client, session):
    from heritage_map.catalogue.models import Project

    session.add(Project(slug="draft-project", title_en="Draft", publication_status="draft", status="active"))
    session.flush()
    body = get_collection(client, "/api/projects?status=active")
    assert "draft-project" not in slugs(body)
    assert body["numberReturned"] == 3


def test_an_empty_result_is_an_empty_feature_collection(client):
    body = get_collection(client, "/api/sites?category=cemetery")
    assert body["features"] == [] and body["numberReturned"] == 0
