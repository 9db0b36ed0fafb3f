"""Table pages a reader can read: a default set of columns with readable headings, and
names linked to their own pages (one hook: extra_template_vars, giving `readable`).

Only the HTML page changes: the table keeps every column, so its JSON and CSV (and the
page with `_columns=all`, `_col` or `_nocol`) carry them all. Each table's choice is in
metadata.yml, under the table's `plugins: readable-columns:` (Datasette's per-table
plugin configuration): `show` (the default columns, in order), `labels` (headings) and
`links` (a column whose value is a name, the column holding its row's id, and the table
of that row) and `lists` (columns holding JSON arrays of labels, such as a breach's types,
written "Theft, Loss" rather than as JSON). The rows themselves are written by table_rows.py, which takes `show` and
`links` from here."""

from __future__ import annotations

from datasette.utils import path_with_added_args, path_with_removed_args, tilde_encode

from datasette import hookimpl

ALL = "_columns"  # ?_columns=all: every column on the HTML page


class Readable:
    """What a table page shows a reader: which columns, under which headings, linked where."""

    def __init__(self, config: dict, request, table_url: str, datasette, database: str) -> None:
        self.labels: dict[str, str] = config.get("labels") or {}
        args = request.args if request is not None else {}
        chose = any(k in args for k in ("_col", "_nocol")) or args.get(ALL) == "all"
        self.all_shown = chose or not config.get("show")
        self.show: tuple[str, ...] | None = None if self.all_shown else tuple(config["show"])
        self.links: dict[str, tuple[str, str]] = {
            column: (link["id"], datasette.urls.table(database, link["table"]) + "/")
            for column, link in (config.get("links") or {}).items()
        }
        self.lists: frozenset[str] = frozenset(config.get("lists") or ())
        self.can_choose = bool(config.get("show"))
        self.all_url = path_with_added_args(request, {ALL: "all"}) if request is not None else table_url
        self.fewer_url = path_with_removed_args(request, {ALL: "all"}) if request is not None else table_url

    def label(self, column: str) -> str:
        return self.labels.get(column) or column.replace("_", " ").capitalize()

    def described(self, text: str, columns: list[str]) -> str:
        """Datasette's description of a page ("where client_country = "Belgium" sorted by
        published_at") with each column's label ("where Client country = ... sorted by
        Published"): whole words only, longest names first (client_country is not client).
        Values are quoted in it, so a value that is also a column's name stays as it is."""
        said = f" {text} "
        for column in sorted(columns, key=len, reverse=True):
            said = said.replace(f" {column} ", f" {self.label(column)} ")
        return said.strip()

    def columns(self, display_columns: list[dict]) -> list[dict]:
        """Datasette's display columns of the page, those shown in the order of `show`."""
        if self.show is None:
            return display_columns
        by_name = {c["name"]: c for c in display_columns}
        return [by_name[name] for name in self.show if name in by_name]


def link_to(prefix: str, raw) -> str:
    return prefix + tilde_encode(str(raw))


@hookimpl
def extra_template_vars(view_name, database, table, request, datasette):
    if view_name != "table" or not table:
        return {}
    config = datasette.plugin_config("readable-columns", database=database, table=table, fallback=False) or {}
    return {"readable": Readable(config, request, datasette.urls.table(database, table), datasette, database)}
