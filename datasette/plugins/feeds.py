"""Pages that have a feed say so: the template variable `feed` = {"url", "title"}, which
base.html renders as <link rel="alternate" type="application/atom+xml"> (and a "Follow" link),
and `breach_feed` likewise for the breaches' feed (new_breaches), where a page has one:
the breaches table and a breach's page (same filters), an organisation's and a
disclosure's page (beside their relationships' feed) and the front door.

Which feed: an organisation's page, its relationships as vendor or client; a disclosure's
page, the relationships it revealed; the relationships table and the canned query
new_relationships, the same filters (vendor, client country, disclosure) where the feed has
them, else the latest relationships; the front door, the latest. Feeds are the canned query
new_relationships as Atom (atom_feed.py); their titles come from registry.store.feeds.

One hook: extra_template_vars."""

from __future__ import annotations

from urllib.parse import urlencode

from datasette.utils import tilde_decode

from datasette import hookimpl
from registry.store.feeds import breach_feed_title, feed_title

DATABASE = "registry"
# The relationships table's filters that the feed takes, by its parameter.
TABLE_FILTERS = {
    "vendor": "vendor",
    "vendor_id": "organisation",
    "client_id": "organisation",
    "client_country": "country",
    "client_country_code": "country",
    "disclosure": "disclosure",
    "disclosure_id": "disclosure",
}
# The breaches table's filters that the breaches' feed takes, by its parameter.
BREACH_FILTERS = {
    "vendor": "vendor",
    "vendor_id": "vendor",
    "organisation_id": "organisation",
    "organisation_country": "country",
    "organisation_country_code": "country",
}


def breach_feed_params(view_name: str, table: str | None, request) -> dict[str, str] | None:
    """The breaches' feed's parameters for this page, or None if it has none."""
    if request is None:
        return None
    if view_name == "row" and table in ("organisations", "disclosures"):
        key = tilde_decode(request.url_vars.get("pks", ""))
        return {"organisation" if table == "organisations" else "disclosure": key} if key.isdigit() else None
    if view_name == "table" and table == "breaches":
        params = {}
        for column, param in BREACH_FILTERS.items():
            value = request.args.get(column) or request.args.get(f"{column}__exact")
            if value and param not in params:
                params[param] = value
        return params
    if view_name == "row" and table == "breaches":
        return {}
    if request.path == f"/{DATABASE}/new_breaches":
        return {k: v for k in ("vendor", "country", "organisation", "disclosure") if (v := request.args.get(k))}
    if view_name == "index" or request.path == "/":
        return {}
    return None


def feed_params(view_name: str, table: str | None, request) -> dict[str, str] | None:
    """The feed's parameters for this page, or None if it has no feed."""
    if request is None:
        return None
    if view_name == "row" and table in ("organisations", "disclosures"):
        key = tilde_decode(request.url_vars.get("pks", ""))
        return {"organisation" if table == "organisations" else "disclosure": key} if key.isdigit() else None
    if view_name == "table" and table == "relationships":
        params = {}
        for column, param in TABLE_FILTERS.items():
            value = request.args.get(column) or request.args.get(f"{column}__exact")
            if value and param not in params:
                params[param] = value
        return params
    if request.path == f"/{DATABASE}/new_relationships":  # the canned query (Datasette 0.65 names its view "")
        return {k: v for k in ("vendor", "country", "organisation", "disclosure") if (v := request.args.get(k))}
    if view_name == "index" or request.path == "/":  # the front door (front_door.py's route, view "page")
        return {}
    return None


@hookimpl
def extra_template_vars(datasette, view_name, table, request):
    params = feed_params(view_name, table, request)
    breach_params = breach_feed_params(view_name, table, request)
    if (params is None and breach_params is None) or DATABASE not in datasette.databases:
        return {}

    async def inner():
        db = datasette.get_database(DATABASE)
        found = {}
        for key, given, titled, query in (
            ("feed", params, feed_title, "new_relationships"),
            ("breach_feed", breach_params, breach_feed_title, "new_breaches"),
        ):
            if given is None:
                continue
            title = await db.execute_fn(lambda conn, given=given, titled=titled: titled(conn, given))
            url = datasette.urls.path(f"/registry/{query}.atom")
            found[key] = {"url": f"{url}?{urlencode(given)}" if given else url, "title": title}
        return found

    return inner
