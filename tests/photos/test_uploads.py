"""Uploading photos through the form and serving them: content checks, limits, publication, no path escape."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from heritage_map.catalogue.models import Project, ProjectAssociation
from heritage_map.photos.models import Photo
from tests.factories import csrf_token, make_association, make_site, make_user, sign_in
from tests.photos.test_images import jpeg_with_gps, png


@pytest.fixture
def uploads(app, tmp_path):
    """An uploads folder of the test's own."""
    app.config["UPLOADS_DIR"] = str(tmp_path / "uploads")
    return tmp_path / "uploads"


@pytest.fixture
def editor(session, client):
    """A signed-in editor of an association, and a published site."""
    association = make_association(session)
    make_site(session, slug="photo-site", name_en="Photo gate")
    user = make_user(session, email="photographer@example.org", memberships={association: "editor"})
    sign_in(client, user)
    return association


def upload(client, data: bytes, filename: str = "photo.jpg", path: str = "/sites/photo-site/photos/new",
           association=None, **fields):
    form = {"csrf_token": csrf_token(client, path), "alt_en": "The gate at dusk", "alt_fr": "", "alt_ar": "",
            "photo": (io.BytesIO(data), filename)}
    if association is not None:
        form["association_id"] = str(association.id)
    form.update(fields)
    return client.post(path, data=form, content_type="multipart/form-data")


def stored(session) -> list[Photo]:
    session.expire_all()
    return list(session.scalars(select(Photo).order_by(Photo.id)))


def publish_all(session):
    for photo in stored(session):
        photo.publication_status = "published"
    session.flush()


def test_a_jpeg_with_gps_is_stored_without_exif_under_a_generated_name(client, session, uploads, editor):
    response = upload(client, jpeg_with_gps(), filename="IMG_20261201_GPS.jpg", association=editor)
    assert response.status_code == 302
    [photo] = stored(session)
    assert photo.publication_status == "submitted" and photo.association_id == editor.id
    assert "IMG" not in photo.file_name and photo.media_type == "image/jpeg"
    files = sorted(p.name for p in (uploads / "photos").iterdir())
    assert files == sorted([photo.file_name, photo.thumb_name])
    data = (uploads / "photos" / photo.file_name).read_bytes()
    assert dict(Image.open(io.BytesIO(data)).getexif()) == {} and b"PhoneMaker" not in data


def test_a_png_named_jpg_is_handled_as_a_png(client, session, uploads, editor):
    assert upload(client, png(), filename="looks-like.jpg", association=editor).status_code == 302
    [photo] = stored(session)
    assert photo.media_type == "image/png" and photo.file_name.endswith(".png")
    publish_all(session)
    response = client.get(f"/photos/{photo.file_name}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert Image.open(io.BytesIO(response.data)).format == "PNG"


@pytest.mark.parametrize("data", [b"<html><script>alert(document.cookie)</script></html>",
                                  b"hello, this is plain text"])
def test_a_text_or_html_file_named_jpg_is_refused_saying_why(client, session, uploads, editor, data):
    response = upload(client, data, filename="evil.jpg", association=editor)
    body = response.get_data(as_text=True)
    assert response.status_code == 415
    assert 'id="photo-error">the file' in body and "not a JPEG, PNG or WebP image" in body
    assert 'value="The gate at dusk"' in body  # what was typed is kept
    assert stored(session) == []
    assert list(uploads.rglob("*.*")) == []  # no file either


def test_a_file_over_the_configured_size_is_413(app, client, session, uploads, editor):
    app.config["PHOTO_MAX_BYTES"] = 1_000
    response = upload(client, jpeg_with_gps(size=(400, 400)), association=editor)
    assert response.status_code == 413
    assert "The photo is over 0.001 MB" in response.get_data(as_text=True)
    assert stored(session) == []


def test_a_body_over_the_request_limit_is_413(app, client, session, uploads, editor):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    assert upload(client, b"\xff" * 20_000, association=editor).status_code == 413


def test_a_decompression_bomb_is_refused(client, session, uploads, editor):
    buffer = io.BytesIO()
    Image.new("L", (12_000, 12_000)).save(buffer, "PNG")  # 144 megapixels in a small file
    response = upload(client, buffer.getvalue(), filename="bomb.png", association=editor)
    assert response.status_code == 413
    assert "pixels" in response.get_data(as_text=True)
    assert stored(session) == []


def test_a_photo_without_alt_text_is_refused(client, session, uploads, editor):
    response = upload(client, jpeg_with_gps(), association=editor, alt_en="  ")
    assert response.status_code == 400
    assert "Describe the photo for people who cannot see it" in response.get_data(as_text=True)
    assert stored(session) == []


def test_alt_text_in_one_language_other_than_english_is_enough(client, session, uploads, editor):
    assert upload(client, png(), association=editor, alt_en="", alt_ar="باب القصبة").status_code == 302
    assert stored(session)[0].alt_ar == "باب القصبة"


def test_an_upload_without_csrf_token_is_refused(client, session, uploads, editor):
    response = client.post("/sites/photo-site/photos/new", content_type="multipart/form-data",
                           data={"alt_en": "x", "association_id": str(editor.id),
                                 "photo": (io.BytesIO(png()), "a.png")})
    assert response.status_code == 400 and stored(session) == []


def test_a_photo_is_public_only_once_published_and_while_its_record_is(client, session, uploads, editor):
    upload(client, jpeg_with_gps(), association=editor, alt_en='Dusk scene "at" <the gate>')
    [photo] = stored(session)
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/sites/photo-site/photos/new")})
    assert client.get(f"/photos/{photo.file_name}").status_code == 404  # submitted: not public
    assert client.get("/api/photos?layer=sites&slug=photo-site").json == {"photos": []}
    assert "Dusk scene" not in client.get("/sites/photo-site").get_data(as_text=True)
    publish_all(session)
    page = client.get("/sites/photo-site").get_data(as_text=True)
    assert 'alt="Dusk scene &#34;at&#34; &lt;the gate&gt;"' in page
    assert client.get(f"/photos/{photo.thumb_name}").status_code == 200
    [item] = client.get("/api/photos?layer=sites&slug=photo-site").json["photos"]
    assert item["thumbnail"] == f"/photos/{photo.thumb_name}" and item["alt_en"] == 'Dusk scene "at" <the gate>'
    photo.site.publication_status = "draft"  # the record leaves the public: its photos with it
    session.flush()
    assert client.get(f"/photos/{photo.file_name}").status_code == 404
    assert client.get("/api/photos?layer=sites&slug=photo-site").json == {"photos": []}


def test_served_photos_carry_their_checked_type_nosniff_and_an_inline_safe_name(client, session, uploads, editor):
    upload(client, jpeg_with_gps(), filename='../../etc/"passwd".html', association=editor)
    publish_all(session)
    [photo] = stored(session)
    response = client.get(f"/photos/{photo.file_name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == f"inline; filename=photo-{photo.id}.jpg"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "public, no-cache"


@pytest.mark.parametrize("path", ["/photos/..%2F..%2Fsecret_key", "/photos/../secret_key", "/photos/%2e%2e%2fpasswd",
                                  "/photos/0123456789abcdef0123456789abcdef.jpg/../x",
                                  "/photos/0123456789abcdef0123456789abcdef.html", "/photos/.upload-abc"])
def test_no_path_leaves_the_photos_folder(client, uploads, path):
    (uploads).mkdir(parents=True, exist_ok=True)
    (uploads / "secret_key").write_text("the-secret-content")
    response = client.get(path)
    assert response.status_code == 404
    assert b"the-secret-content" not in response.data


def test_a_file_on_disk_without_its_record_is_not_served(client, uploads):
    (uploads / "photos").mkdir(parents=True)
    name = "0123456789abcdef0123456789abcdef.jpg"
    (uploads / "photos" / name).write_bytes(jpeg_with_gps())
    assert client.get(f"/photos/{name}").status_code == 404


def test_an_editor_of_x_cannot_add_a_photo_to_a_project_of_y_nor_upload_for_y(client, session, uploads, editor):
    other = make_association(session, slug="other-association", name_en="Other")
    project = Project(slug="y-project", title_en="Y's project", publication_status="published")
    session.add(project)
    session.flush()
    session.add(ProjectAssociation(project_id=project.id, association_id=other.id, role="lead"))
    session.flush()
    assert client.get("/projects/y-project/photos/new").status_code == 403
    assert upload(client, png(), path="/sites/photo-site/photos/new", association=other).status_code == 400
    assert stored(session) == []


def test_an_editor_adds_a_photo_to_their_own_project(client, session, uploads, editor):
    project = Project(slug="x-project", title_en="X's project", publication_status="published")
    session.add(project)
    session.flush()
    session.add(ProjectAssociation(project_id=project.id, association_id=editor.id, role="lead"))
    session.flush()
    assert upload(client, png(), path="/projects/x-project/photos/new", association=editor).status_code == 302
    publish_all(session)
    assert "The gate at dusk" in client.get("/projects/x-project").get_data(as_text=True)


def test_the_public_cannot_upload(client, session, uploads):
    make_site(session, slug="photo-site")
    assert client.get("/sites/photo-site/photos/new").status_code == 302  # to sign in


def test_a_moderator_publishes_a_photo(client, session, uploads, editor):
    upload(client, png(), association=editor)
    [photo] = stored(session)
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/sites/photo-site/photos/new")})
    sign_in(client, make_user(session, role="moderator"))
    queue = client.get("/photos/review")
    assert queue.status_code == 200 and photo.thumb_name in queue.get_data(as_text=True)
    assert client.get(f"/photos/{photo.thumb_name}").status_code == 200  # a moderator sees what they review
    client.post(f"/photos/{photo.id}/review", data={"csrf_token": csrf_token(client, "/photos/review"),
                                                    "action": "publish"})
    assert stored(session)[0].publication_status == "published"


def test_the_photos_api_refuses_unknown_layers_and_bad_slugs(client):
    assert client.get("/api/photos?layer=associations&slug=x").status_code == 400
    assert client.get("/api/photos?layer=sites&slug=../x").status_code == 400
    assert client.get("/api/photos?layer=sites").status_code == 400
