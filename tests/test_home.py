"""The intake app's home page."""

from __future__ import annotations

import shutil

from registry import create_app


def test_home_shows_published_counts_and_links(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-count="relationships">28<' in html
    assert 'data-count="vendors">4<' in html
    assert 'data-count="disclosures">4<' in html
    assert 'href="http://datasette.test/registry/relationships"' in html
    assert 'href="http://datasette.test/registry/clients_of_vendor"' in html
    assert "CC BY 4.0" in html


def test_home_without_published_database_says_so(seeded):
    shutil.rmtree(seeded.instance)
    app = create_app({"TESTING": True})
    response = app.test_client().get("/")
    assert response.status_code == 200
    assert "has not been published yet" in response.get_data(as_text=True)


def test_flask_routes_lists_the_home_page():
    app = create_app({"TESTING": True})
    assert "/" in {rule.rule for rule in app.url_map.iter_rules()}


def test_pages_without_databases_say_what_to_run(instance):
    app = create_app({"TESTING": True})
    response = app.test_client().get("/submit/relationship")
    assert response.status_code == 503
    assert "registry init" in response.get_data(as_text=True)


def test_home_searches_datasette(client):
    html = client.get("/").get_data(as_text=True)
    assert 'action="http://datasette.test/registry/relationships"' in html
    assert 'name="_search"' in html


def test_security_headers_on_every_page(client):
    for path in ("/", "/submit/relationship", "/login", "/no-such-page"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert "script-src 'self';" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers  # plain HTTP on localhost


def test_hsts_when_served_over_https(seeded):
    app = create_app({"TESTING": True, "SESSION_COOKIE_SECURE": True})
    assert app.test_client().get("/").headers["Strict-Transport-Security"].startswith("max-age=")


def test_home_links_the_overview(client):
    assert 'href="http://datasette.test/overview"' in client.get("/").get_data(as_text=True)
