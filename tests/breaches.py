"""Breaches for the public-site tests, written straight into a seeded instance's intake.db
as the seed writes its rows (status 'approved'), then published with the real `registry
publish`: the intake side of breaches is built elsewhere, and the pages must not wait for it.

The content is real: five rows of the US health-data breach portal
(../shared/data/hhs-ocr-breaches/breaches-2014.csv, rows 1, 3, 21 and 22: two breaches of
BlueCross BlueShield Association, each through a business associate) and the theft of
Clearview AI's client list, with the statement of Clearview's lawyer as the stored French
article gives it (seed document 002, paragraph 9), and Amazon's lobbying spend as a figure
about Amazon (seed document 001, paragraph 12)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from registry.config import Settings
from registry.rules.names import name_key
from tests.conftest import invoke

NOW = "2026-01-05T10:00:00Z"
HHS_URL = "https://ocrportal.hhs.gov/ocr/breach/breach_report.jsf"

# name, slug, kind, sector, country, subdivision
ORGANISATIONS = [
    ("BlueCross BlueShield Association", "bluecross-blueshield-association", "company", "health", "US", "US-DC"),
    ("Merkle Direct Marketing", "merkle-direct-marketing", "company", "technology", "US", None),
    ("Service Benefits Plan Administrative Services Corp", "service-benefits-plan-administrative-services",
     "company", "health", "US", None),
    ("Brooke Army Medical Center", "brooke-army-medical-center", "public-agency", "health", "US", "US-TX"),
    ("Alaska Department of Health and Social Services", "alaska-department-of-health-and-social-services",
     "public-agency", "health", "US", "US-AK"),
]  # fmt: skip

# slug, organisation, vendor, title, start, discovered, notified, affected, types, kinds, media, flags, row, summary
BREACHES = [
    ("hhs-2014-21-bcbsa-merkle", "bluecross-blueshield-association", "merkle-direct-marketing",
     "BlueCross BlueShield Association: health information mailed by Merkle Direct Marketing",
     "2009-10-07", None, "2014-04", (15000, 15000, "people"), ["theft"], ["names", "contact-details", "health"],
     ["paper"], {"verified": 1}, "21",
     "The covered entity's (CE) business associate (BA) mailed protected health information (PHI) of approximately "
     "15,000 individuals."),
    ("hhs-2014-20-bcbsa-sbpas", "bluecross-blueshield-association", "service-benefits-plan-administrative-services",
     "BlueCross BlueShield Association: addresses updated wrongly by its business associate",
     "2009-10-26", None, "2014-06-30", (3400, 3400, "people"), ["theft"], ["names", "contact-details"],
     ["paper"], {"verified": 1}, "20",
     "The covered entity's (CE) business associate (BA) incorrectly updated contract holders' addresses and mailed "
     "protected health information to the wrong addresses."),
    ("hhs-2014-0-brooke-army-medical-center", "brooke-army-medical-center", None,
     "Brooke Army Medical Center: binder of treatment notes stolen from a car",
     "2009-10-16", None, "2014-06-30", (1000, 1272, "people"), ["theft"],
     ["names", "contact-details", "health", "identity-numbers"], ["paper"], {"verified": 1, "sensitive": 1}, "0",
     "A binder containing the protected health information (PHI) of up to 1,272 individuals was stolen from a "
     "staff member's vehicle."),
    ("hhs-2014-2-alaska-dhss", "alaska-department-of-health-and-social-services", None,
     "Alaska Department of Health and Social Services: portable device stolen",
     "2009-10-12", None, "2014-01-23", (501, 501, "people"), ["theft"], ["health"],
     ["portable-device", "other"], {}, "2", "A portable electronic device holding health information was stolen."),
]  # fmt: skip


@dataclass
class Breaches:
    """What the fixture added, by slug: breach and organisation ids, and the rest by name."""

    settings: Settings
    breach: dict[str, int] = field(default_factory=dict)
    organisation: dict[str, int] = field(default_factory=dict)
    relationship: int = 0
    disclosure: int = 0
    hhs_source: int = 0


def add_breaches(settings: Settings) -> Breaches:
    """Write the breaches above (and the Clearview AI breach) into intake.db and publish them."""
    added = Breaches(settings)
    conn = sqlite3.connect(settings.intake_db)
    conn.execute("PRAGMA foreign_keys = ON")
    with conn:
        added.hhs_source = conn.execute(
            "INSERT INTO sources (slug, title, url, publisher, language, published_date, "
            "notes, status, created_at, updated_at) VALUES ('hhs-ocr-breach-portal-2014', "
            "'Breaches affecting 500 or more individuals (HHS OCR breach portal, 2014 snapshot)', ?, "
            "'U.S. Department of Health and Human Services, Office for Civil Rights', 'en', '2014', "
            "'../shared/data/hhs-ocr-breaches/breaches-2014.csv', 'approved', ?, ?)",
            [HHS_URL, NOW, NOW],
        ).lastrowid
        for name, slug, kind, sector, country, subdivision in ORGANISATIONS:
            added.organisation[slug] = conn.execute(
                "INSERT INTO organisations (slug, name, name_key, kind, sector, country, subdivision, status, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'approved', ?, ?)",
                [slug, name, name_key(name), kind, sector, country, subdivision, NOW, NOW],
            ).lastrowid
        for slug in ("clearview-ai", "amazon"):
            added.organisation[slug] = conn.execute("SELECT id FROM organisations WHERE slug = ?", [slug]).fetchone()[0]
        # The vendor -> client relationship the Merkle breach revealed.
        added.relationship = conn.execute(
            "INSERT INTO relationships (vendor_id, client_id, arrangement_code, start_date, summary, "
            "status, approved_at, created_at, updated_at) VALUES (?, ?, 'contract', '2009-10', "
            "'Merkle Direct Marketing mailed protected health information for BlueCross BlueShield Association as "
            "its business associate.', 'approved', ?, ?, ?)",
            [added.organisation["merkle-direct-marketing"], added.organisation["bluecross-blueshield-association"],
             NOW, NOW, NOW],
        ).lastrowid  # fmt: skip
        conn.execute(
            "INSERT INTO citations (relationship_id, source_id, locator) VALUES (?, ?, 'row 22 (Number 21)')",
            [added.relationship, added.hhs_source],
        )
        for (slug, org, vendor, title, start, discovered, notified, (low, high, unit), types, kinds, media, flags,
             number, summary) in BREACHES:  # fmt: skip
            added.breach[slug] = insert_breach(
                conn, slug, added.organisation[org], added.organisation.get(vendor or ""), title, start, discovered,
                notified, low, high, unit, flags, summary,
            )  # fmt: skip
            link(conn, added.breach[slug], types, kinds, media)
            conn.execute(
                "INSERT INTO breach_citations (breach_id, source_id, locator, quote) VALUES (?, ?, ?, ?)",
                [added.breach[slug], added.hhs_source, f"row {int(number) + 1} (Number {number})", summary[:500]],
            )
        merkle = added.breach["hhs-2014-21-bcbsa-merkle"]
        conn.execute("UPDATE breaches SET relationship_id = ? WHERE id = ?", [added.relationship, merkle])
        add_clearview(conn, added)
    conn.close()
    result = invoke("publish")
    assert result.exit_code == 0, result.output
    return added


def insert_breach(conn, slug, org, vendor, title, start, discovered, notified, low, high, unit, flags, summary) -> int:
    return conn.execute(
        "INSERT INTO breaches (slug, organisation_id, vendor_id, title, start_date, discovered_date, notified_date, "
        "affected_low, affected_high, affected_unit, verified, disputed, sensitive, description, status, approved_at, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'approved', ?, ?, ?)",
        [slug, org, vendor, title, start, discovered, notified, low, high, unit, flags.get("verified", 0),
         flags.get("disputed", 0), flags.get("sensitive", 0), summary, NOW, NOW, NOW],
    ).lastrowid  # fmt: skip


def link(conn, breach: int, types: list[str], kinds: list[str], media: list[str]) -> None:
    conn.executemany("INSERT INTO breaches_breach_types VALUES (?, ?)", [(breach, t) for t in types])
    conn.executemany("INSERT INTO breaches_data_kinds VALUES (?, ?)", [(breach, k) for k in kinds])
    conn.executemany("INSERT INTO breaches_breach_media VALUES (?, ?)", [(breach, m) for m in media])


def add_clearview(conn: sqlite3.Connection, added: Breaches) -> None:
    """The theft of Clearview AI's client list (February 2020), made known by the disclosure of the
    list, with its lawyer's statement as a response to the disclosure and to the breach, and
    Amazon's lobbying spend as a figure about Amazon."""
    # The seed holds this breach and the lawyer's response in its own words (seed/breaches.yml,
    # seed/disclosures.yml, checked by tests/test_seed_sources.py): these pages' tests use theirs.
    seeded = [
        r[0]
        for r in conn.execute("SELECT id FROM breaches WHERE organisation_id = ?", [added.organisation["clearview-ai"]])
    ]
    for table in ("breaches_breach_types", "breaches_data_kinds", "breaches_breach_media", "breaches_disclosures",
                  "breach_citations", "observations", "responses"):  # fmt: skip
        conn.executemany(f"DELETE FROM {table} WHERE breach_id = ?", [[b] for b in seeded])
    conn.executemany("DELETE FROM breaches WHERE id = ?", [[b] for b in seeded])
    conn.execute(
        "DELETE FROM responses WHERE disclosure_id = "
        "(SELECT id FROM disclosures WHERE slug = 'clearview-client-list-2020')"
    )
    article = conn.execute("SELECT id FROM sources WHERE slug = 'doc-clearview-belgian-french-police'").fetchone()[0]
    added.disclosure = conn.execute("SELECT id FROM disclosures WHERE slug = 'clearview-client-list-2020'").fetchone()[
        0
    ]
    clearview = added.organisation["clearview-ai"]
    breach = added.breach["clearview-client-list-theft-2020"] = insert_breach(
        conn, "clearview-client-list-theft-2020", clearview, None,
        "Clearview AI: client list taken by an intruder", "2020-02", None, "2020-02", None, None, None,
        {"verified": 1, "sensitive": 1},
        "Clearview AI told its clients that an intruder had gained unauthorised access to its list of clients, "
        "the number of accounts they had set up and the number of searches they had run.",
    )  # fmt: skip
    link(conn, breach, ["unauthorised-access"], ["client-list", "usage-records"], ["network-server"])
    quote = "L’entreprise a informé ses clients qu’un individu a eu ‘un accès non autorisé’ à différentes informations."
    conn.execute(
        "INSERT INTO breach_citations (breach_id, source_id, locator, quote) VALUES (?, ?, 'paragraph 3', ?)",
        [breach, article, quote],
    )
    conn.execute("INSERT INTO breaches_disclosures VALUES (?, ?)", [breach, added.disclosure])
    statement = (
        "Malheureusement, les violations de données font partie de la vie au 21e siècle. Nos serveurs n’ont jamais "
        "été consultés. Nous avons corrigé la faille et continuons de travailler pour renforcer notre sécurité."
    )
    for subject, summary in (
        ("disclosure_id", "Clearview AI's lawyer said data breaches are part of life, its servers were never "
                          "accessed, and the flaw was fixed."),
        ("breach_id", "Clearview AI's lawyer said its servers were never accessed and the flaw was fixed."),
    ):  # fmt: skip
        conn.execute(
            f"INSERT INTO responses ({subject}, organisation_id, kind, response_date, author, quote, summary, "
            "source_id, locator, status, created_at, updated_at) VALUES (?, ?, 'clarified', '2020-02', "
            "'Tor Ekeland', ?, ?, ?, 'paragraph 9', 'approved', ?, ?)",
            [added.disclosure if subject == "disclosure_id" else breach, clearview, statement, summary, article,
             NOW, NOW],
        )  # fmt: skip
    lobbying = conn.execute("SELECT id FROM sources WHERE slug = 'doc-amazon-rekognition-ice'").fetchone()[0]
    conn.execute(
        "INSERT INTO observations (organisation_id, metric, low, high, unit, period_start, period_end, source_id, "
        "locator, status, created_at) VALUES (?, 'lobbying spend', 3630000, 3630000, 'US dollars', '2018-07-01', "
        "'2018-09-30', ?, 'paragraph 12', 'approved', ?)",
        [added.organisation["amazon"], lobbying, NOW],
    )
