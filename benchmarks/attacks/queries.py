"""The public Datasette's SQL (issue 18, finding 1, and finding 9's sqlite_stmt, malformed
parameters and instance path), replayed as an anonymous reader sends them.

    .venv/bin/python benchmarks/attack_replay.py --only queries"""

from __future__ import annotations

import threading

from attacks.harness import Attack, Server

FORTY = "select " + ", ".join(f"length(upper(printf('%.*c', 1e8, 'x'))) as c{i}" for i in range(40))
LONG = "with t(a) as (select printf('%.*c', 131000, 'a'))"  # the readers' limit is 128 KB
NEEDLE = "substr(a, 1, 65000) || 'b'"  # matches at every position until its last character


def many(call: str) -> str:
    """As many `call`s on a constant 128 KB value as 9,500 characters of SQL hold (SQLite keeps each result)."""
    column = "(" + "+".join([call] * 90) + ")"
    return f"{LONG} select {', '.join([column] * (9_400 // (len(column) + 2)))} from t"


def sql(server: Server, text: str) -> int:
    return server.reader.get("/registry.json", params={"sql": text}).status_code


def at_once(server: Server, texts: list[str]) -> list[int]:
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda t=t: statuses.append(sql(server, t))) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


RECURSIVE = "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"

MALFORMED = [
    "/registry/relationships.json?_through=x",
    '/registry/relationships.json?_through={"table":"organisations","column":"id","value":"1"}',
    "/registry/relationships.json?_timelimit=abc",
    "/registry.json?sql=select+1&_timelimit=abc",
    "/registry/relationships.json?_sort=id&_sort_desc=id",
    "/registry/relationships.json?vendor__in=[1",
    "/registry/relationships.json?vendor__in=[{}]",
]

ATTACKS = [
    Attack("40 columns of length(upper(printf('%.*c', 1e8, 'x')))", "1", lambda s: [sql(s, FORTY)]),
    Attack("printf('%.*c', 900000000, 'x')", "1", lambda s: [sql(s, "select length(printf('%.*c', 900000000, 'x'))")]),
    Attack("three 40-column printf queries at once", "1", lambda s: at_once(s, [FORTY] * 3)),
    Attack("three recursive queries at once, each to its time limit", "1", lambda s: at_once(s, [RECURSIVE] * 3)),
    Attack("eight recursive queries at once (four may wait)", "1", lambda s: at_once(s, [RECURSIVE] * 8)),
    Attack(
        "a table page's _where= to its time limit, facets included",
        "1",
        lambda s: [s.reader.get("/registry/relationships.json", params={"_where": f"({RECURSIVE}) > 0"}).status_code],
    ),
    Attack("instr() on 128 KB values, ~1,000 calls", "1", lambda s: [sql(s, many(f"instr(a, {NEEDLE})"))]),
    Attack("trim() kept for ~1,000 calls of 128 KB", "1", lambda s: [sql(s, many("length(trim(a, 'b'))"))]),
    Attack(
        "trim() kept for ~1,000 calls of 1 MB",
        "1",
        lambda s: [sql(s, many("length(trim(a, 'b'))").replace("131000", "1000000"))],
    ),
    Attack(
        "1,000 rows of 20 values of 100 KB",
        "1",
        lambda s: [
            sql(
                s,
                "with recursive c(x) as (select 1 union all select x + 1 from c limit 1000) select "
                + ", ".join(["printf('%.*c', 100000, 'x')"] * 20)
                + " from c",
            )
        ],
    ),
    Attack("select sql from sqlite_stmt", "9", lambda s: [sql(s, "select sql from sqlite_stmt")]),
    Attack(
        "malformed _through, _timelimit, _sort + _sort_desc, __in",
        "9",
        lambda s: [s.reader.get(u).status_code for u in MALFORMED],
    ),
    Attack("/-/databases.json (the instance path)", "9", lambda s: [s.reader.get("/-/databases.json").status_code]),
]
