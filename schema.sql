-- Exposure registry: every table, index, view and constraint of both databases.
--
-- This file is split into parts by lines of the form "-- part: NAME":
--   shared    vocabularies, created identically in intake.db and registry.db
--   intake    intake.db only: the working copy of the data, with review state,
--             and the private tables
--   registry  registry.db only: the PUBLIC tables, as Datasette serves them
--
-- The "registry" part (with "shared") is the allow-list of what may be published:
-- `registry check` fails when registry.db holds any table or column it does not
-- declare. Columns absent from it (status, submission_id, created_at...) and the
-- tables marked PRIVATE never leave intake.db.
--
-- Dates are ISO 8601 strings. Partial dates ("2020", "2020-02", "2020-02-27") keep
-- their precision; the *_precision columns are generated from the string's length.

-- part: shared

-- PUBLIC. ISO 3166-1 countries with their English and French names (from pycountry).
CREATE TABLE IF NOT EXISTS countries (
    code TEXT PRIMARY KEY CHECK (length(code) = 2 AND code = upper(code)),
    code3 TEXT NOT NULL UNIQUE CHECK (length(code3) = 3 AND code3 = upper(code3)),
    name TEXT NOT NULL CHECK (name <> ''),
    name_fr TEXT NOT NULL CHECK (name_fr <> ''),
    official_name TEXT,
    -- a point inside the country (from countryinfo), for the overview's map
    latitude REAL CHECK (latitude IS NULL OR latitude BETWEEN -90 AND 90),
    longitude REAL CHECK (longitude IS NULL OR longitude BETWEEN -180 AND 180)
) STRICT;

-- PUBLIC. ISO 3166-2 subdivisions (US states, French regions...).
CREATE TABLE IF NOT EXISTS subdivisions (
    code TEXT PRIMARY KEY CHECK (code GLOB '[A-Z][A-Z]-*'),
    country TEXT NOT NULL REFERENCES countries(code),
    name TEXT NOT NULL CHECK (name <> ''),
    type TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS subdivisions_country ON subdivisions(country);

-- PUBLIC. Controlled vocabularies: one code, one label, one description each.
CREATE TABLE IF NOT EXISTS sectors (
    code TEXT PRIMARY KEY CHECK (code GLOB '[a-z]*' AND code NOT GLOB '*[^a-z-]*'),
    label TEXT NOT NULL UNIQUE CHECK (label <> ''),
    description TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS organisation_kinds (
    code TEXT PRIMARY KEY CHECK (code GLOB '[a-z]*' AND code NOT GLOB '*[^a-z-]*'),
    label TEXT NOT NULL UNIQUE CHECK (label <> ''),
    description TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS arrangements (
    code TEXT PRIMARY KEY CHECK (code IN ('pitch', 'trial', 'contract', 'grant', 'declined', 'ended', 'unknown')),
    label TEXT NOT NULL UNIQUE CHECK (label <> ''),
    description TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS disclosure_kinds (
    code TEXT PRIMARY KEY CHECK (code GLOB '[a-z]*' AND code NOT GLOB '*[^a-z-]*'),
    label TEXT NOT NULL UNIQUE CHECK (label <> ''),
    description TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS response_kinds (
    code TEXT PRIMARY KEY CHECK (code GLOB '[a-z]*' AND code NOT GLOB '*[^a-z-]*'),
    label TEXT NOT NULL UNIQUE CHECK (label <> ''),
    description TEXT NOT NULL
) STRICT;

-- Breaches: how the data got out (several may apply), what it was, and where it was held.
CREATE TABLE IF NOT EXISTS breach_types (
    code TEXT PRIMARY KEY CHECK (code GLOB '[a-z]*' AND code NOT GLOB '*[^a-z-]*'),
    label TEXT NOT NULL UNIQUE CHECK (label <> ''),
    description TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS data_kinds (
    code TEXT PRIMARY KEY CHECK (code GLOB '[a-z]*' AND code NOT GLOB '*[^a-z-]*'),
    label TEXT NOT NULL UNIQUE CHECK (label <> ''),
    description TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS breach_media (
    code TEXT PRIMARY KEY CHECK (code GLOB '[a-z]*' AND code NOT GLOB '*[^a-z-]*'),
    label TEXT NOT NULL UNIQUE CHECK (label <> ''),
    description TEXT NOT NULL
) STRICT;

-- The level of government of a public body: readers keep to federal agencies, or local ones.
CREATE TABLE IF NOT EXISTS government_levels (
    code TEXT PRIMARY KEY CHECK (code IN ('international', 'national', 'regional', 'local')),
    label TEXT NOT NULL UNIQUE CHECK (label <> ''),
    description TEXT NOT NULL
) STRICT;

-- part: intake

-- Review state shared by every domain table: only 'approved' rows are published.
-- A seed row is approved; a submitted row starts 'pending'.

CREATE TABLE IF NOT EXISTS organisations (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE CHECK (slug GLOB '[a-z0-9]*' AND slug NOT GLOB '*[^a-z0-9-]*'),
    name TEXT NOT NULL CHECK (name <> '' AND length(name) <= 300),
    -- registry.names.name_key(name): where spellings meet ("Sylvania PD", "Sylvania Police Dept.")
    name_key TEXT NOT NULL,
    kind TEXT NOT NULL REFERENCES organisation_kinds(code),
    sector TEXT NOT NULL REFERENCES sectors(code),
    country TEXT REFERENCES countries(code),
    subdivision TEXT REFERENCES subdivisions(code),
    city TEXT CHECK (city IS NULL OR (city <> '' AND length(city) <= 200)),
    parent_id INTEGER REFERENCES organisations(id),
    description TEXT,
    -- only public bodies have one (registry.rules.government derives it from the name when not given)
    government_level TEXT REFERENCES government_levels(code)
        CHECK (government_level IS NULL OR kind IN ('public-agency', 'international-body')),
    -- Why a name that looks like a private person's is an organisation's ("a doctor's own
    -- practice, listed under the doctor's name"): registry.rules.persons flags such names,
    -- and a flagged organisation is published only with this statement (registry check).
    person_name_reason TEXT CHECK (person_name_reason IS NULL OR
                                   (person_name_reason <> '' AND length(person_name_reason) <= 500)),
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'rejected', 'merged')),
    merged_into_id INTEGER REFERENCES organisations(id),
    submission_id INTEGER REFERENCES submissions(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (parent_id IS NULL OR parent_id <> id),
    CHECK ((status = 'merged') = (merged_into_id IS NOT NULL))
) STRICT;
CREATE INDEX IF NOT EXISTS organisations_status ON organisations(status);
CREATE INDEX IF NOT EXISTS organisations_name_key ON organisations(name_key);
CREATE INDEX IF NOT EXISTS organisations_submission ON organisations(submission_id);
CREATE INDEX IF NOT EXISTS organisations_sector ON organisations(sector);
CREATE INDEX IF NOT EXISTS organisations_country ON organisations(country);
CREATE INDEX IF NOT EXISTS organisations_parent ON organisations(parent_id);

-- Spellings as they appear in leaks and articles, in any language.
CREATE TABLE IF NOT EXISTS organisation_aliases (
    id INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    alias TEXT NOT NULL CHECK (alias <> '' AND length(alias) <= 300),
    alias_key TEXT NOT NULL,
    language TEXT CHECK (language IS NULL OR length(language) BETWEEN 2 AND 3),
    -- set when an import added the alias: published once that import is approved
    submission_id INTEGER REFERENCES submissions(id),
    UNIQUE (organisation_id, alias)
) STRICT;
CREATE INDEX IF NOT EXISTS organisation_aliases_alias_key ON organisation_aliases(alias_key);

CREATE TABLE IF NOT EXISTS organisation_identifiers (
    id INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    scheme TEXT NOT NULL CHECK (scheme IN ('wikidata', 'atlas-of-surveillance', 'flock-transparency', 'other')),
    value TEXT NOT NULL CHECK (value <> ''),
    submission_id INTEGER REFERENCES submissions(id),
    UNIQUE (scheme, value)
) STRICT;
CREATE INDEX IF NOT EXISTS organisation_identifiers_org ON organisation_identifiers(organisation_id);

-- When two organisations are merged, the old id keeps resolving to the survivor.
CREATE TABLE IF NOT EXISTS organisation_redirects (
    old_id INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    CHECK (old_id <> organisation_id)
) STRICT;

CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE CHECK (slug GLOB '[a-z0-9]*' AND slug NOT GLOB '*[^a-z0-9-]*'),
    title TEXT NOT NULL CHECK (title <> '' AND length(title) <= 500),
    url TEXT CHECK (url IS NULL OR url GLOB 'http://*' OR url GLOB 'https://*'),
    archive_url TEXT CHECK (archive_url IS NULL OR archive_url GLOB 'http://*' OR archive_url GLOB 'https://*'),
    publisher TEXT,
    language TEXT NOT NULL CHECK (length(language) BETWEEN 2 AND 3 AND language = lower(language)),
    published_date TEXT CHECK (published_date IS NULL OR published_date GLOB '[12][0-9][0-9][0-9]*'),
    published_precision TEXT GENERATED ALWAYS AS (
        CASE length(published_date) WHEN 4 THEN 'year' WHEN 7 THEN 'month' WHEN 10 THEN 'day' END
    ) VIRTUAL,
    content_hash TEXT CHECK (content_hash IS NULL OR content_hash GLOB 'sha256:*'),
    notes TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    submission_id INTEGER REFERENCES submissions(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (published_date IS NULL OR length(published_date) IN (4, 7, 10))
) STRICT;
CREATE INDEX IF NOT EXISTS sources_status ON sources(status);
CREATE INDEX IF NOT EXISTS sources_url ON sources(url);
CREATE INDEX IF NOT EXISTS sources_submission ON sources(submission_id);
CREATE INDEX IF NOT EXISTS sources_publisher ON sources(publisher);

CREATE TABLE IF NOT EXISTS disclosures (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE CHECK (slug GLOB '[a-z0-9]*' AND slug NOT GLOB '*[^a-z0-9-]*'),
    title TEXT NOT NULL CHECK (title <> '' AND length(title) <= 300),
    kind TEXT NOT NULL REFERENCES disclosure_kinds(code),
    disclosed_date TEXT NOT NULL CHECK (length(disclosed_date) IN (4, 7, 10)),
    disclosed_precision TEXT GENERATED ALWAYS AS (
        CASE length(disclosed_date) WHEN 4 THEN 'year' WHEN 7 THEN 'month' WHEN 10 THEN 'day' END
    ) VIRTUAL,
    period_start TEXT CHECK (period_start IS NULL OR length(period_start) IN (4, 7, 10)),
    period_end TEXT CHECK (period_end IS NULL OR length(period_end) IN (4, 7, 10)),
    disclosed_by TEXT NOT NULL CHECK (disclosed_by <> ''),
    reported_count INTEGER CHECK (reported_count IS NULL OR reported_count >= 0),
    description TEXT NOT NULL CHECK (description <> ''),
    completeness_note TEXT NOT NULL CHECK (completeness_note <> ''),
    primary_source_id INTEGER REFERENCES sources(id),
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    submission_id INTEGER REFERENCES submissions(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (period_end IS NULL OR period_start IS NULL OR period_end >= period_start)
) STRICT;
CREATE INDEX IF NOT EXISTS disclosures_status ON disclosures(status);
CREATE INDEX IF NOT EXISTS disclosures_kind ON disclosures(kind);

CREATE TABLE IF NOT EXISTS relationships (
    id INTEGER PRIMARY KEY,
    vendor_id INTEGER NOT NULL REFERENCES organisations(id),
    client_id INTEGER NOT NULL REFERENCES organisations(id),
    product TEXT CHECK (product IS NULL OR (product <> '' AND length(product) <= 200)),
    arrangement_code TEXT NOT NULL REFERENCES arrangements(code),
    trial_days INTEGER CHECK (trial_days IS NULL OR trial_days BETWEEN 1 AND 3650),
    start_date TEXT CHECK (start_date IS NULL OR length(start_date) IN (4, 7, 10)),
    start_precision TEXT GENERATED ALWAYS AS (
        CASE length(start_date) WHEN 4 THEN 'year' WHEN 7 THEN 'month' WHEN 10 THEN 'day' END
    ) VIRTUAL,
    end_date TEXT CHECK (end_date IS NULL OR length(end_date) IN (4, 7, 10)),
    end_precision TEXT GENERATED ALWAYS AS (
        CASE length(end_date) WHEN 4 THEN 'year' WHEN 7 THEN 'month' WHEN 10 THEN 'day' END
    ) VIRTUAL,
    disclosure_id INTEGER REFERENCES disclosures(id),
    summary TEXT NOT NULL CHECK (summary <> '' AND length(summary) <= 1000),
    notes TEXT,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn', 'merged')),
    -- when a reviewer (or the seed, or an operator's import) first approved it: the feed's date
    approved_at TEXT,
    submission_id INTEGER REFERENCES submissions(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (vendor_id <> client_id),
    CHECK (trial_days IS NULL OR arrangement_code = 'trial'),
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date)
) STRICT;
-- One live relationship per vendor, client, disclosure and product: a second row with
-- the same four is a duplicate, whatever its arrangement. Withdrawn and merged rows keep
-- their history without blocking a new one.
CREATE UNIQUE INDEX IF NOT EXISTS relationships_live_identity
    ON relationships(vendor_id, client_id, coalesce(disclosure_id, 0), coalesce(product, ''))
    WHERE status IN ('pending', 'approved');
CREATE INDEX IF NOT EXISTS relationships_status ON relationships(status);
CREATE INDEX IF NOT EXISTS relationships_submission ON relationships(submission_id);
CREATE INDEX IF NOT EXISTS relationships_client ON relationships(client_id);
CREATE INDEX IF NOT EXISTS relationships_disclosure ON relationships(disclosure_id);

-- Where in a source the evidence for a relationship is: page, paragraph, row number.
CREATE TABLE IF NOT EXISTS citations (
    id INTEGER PRIMARY KEY,
    relationship_id INTEGER NOT NULL REFERENCES relationships(id),
    source_id INTEGER NOT NULL REFERENCES sources(id),
    locator TEXT NOT NULL CHECK (locator <> '' AND length(locator) <= 200),
    quote TEXT CHECK (quote IS NULL OR (quote <> '' AND length(quote) <= 500)),
    -- set when an import added the citation: published once that import is approved
    submission_id INTEGER REFERENCES submissions(id),
    UNIQUE (relationship_id, source_id, locator)
) STRICT;
CREATE INDEX IF NOT EXISTS citations_source ON citations(source_id);

-- Right of reply: what the client or vendor said, about one relationship, or about a
-- whole disclosure or breach (Clearview AI's lawyer on the theft of its client list).
CREATE TABLE IF NOT EXISTS responses (
    id INTEGER PRIMARY KEY,
    relationship_id INTEGER REFERENCES relationships(id),
    disclosure_id INTEGER REFERENCES disclosures(id),
    breach_id INTEGER REFERENCES breaches(id),
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    kind TEXT NOT NULL REFERENCES response_kinds(code),
    response_date TEXT CHECK (response_date IS NULL OR length(response_date) IN (4, 7, 10)),
    -- who spoke for the organisation ("Tor Ekeland, Clearview AI's lawyer"): the one place a
    -- person's name is published, as the named author of a public statement
    author TEXT CHECK (author IS NULL OR (author <> '' AND length(author) <= 200)),
    quote TEXT CHECK (quote IS NULL OR (quote <> '' AND length(quote) <= 1000)),
    summary TEXT NOT NULL CHECK (summary <> ''),
    source_id INTEGER NOT NULL REFERENCES sources(id),
    locator TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    submission_id INTEGER REFERENCES submissions(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK ((relationship_id IS NOT NULL) + (disclosure_id IS NOT NULL) + (breach_id IS NOT NULL) = 1)
) STRICT;
-- One response per subject, organisation and source.
CREATE UNIQUE INDEX IF NOT EXISTS responses_identity ON responses(
    coalesce(relationship_id, 0), coalesce(disclosure_id, 0), coalesce(breach_id, 0), organisation_id, source_id
);
CREATE INDEX IF NOT EXISTS responses_relationship ON responses(relationship_id);
CREATE INDEX IF NOT EXISTS responses_disclosure ON responses(disclosure_id);
CREATE INDEX IF NOT EXISTS responses_breach ON responses(breach_id);
CREATE INDEX IF NOT EXISTS responses_organisation ON responses(organisation_id);
CREATE INDEX IF NOT EXISTS responses_kind ON responses(kind);

-- A measured figure, as a low-high range, about one relationship, organisation or breach
-- (Amazon's lobbying spend is about Amazon).
CREATE TABLE IF NOT EXISTS observations (
    id INTEGER PRIMARY KEY,
    relationship_id INTEGER REFERENCES relationships(id),
    organisation_id INTEGER REFERENCES organisations(id),
    breach_id INTEGER REFERENCES breaches(id),
    metric TEXT NOT NULL CHECK (metric <> ''),
    low REAL NOT NULL,
    high REAL NOT NULL,
    unit TEXT NOT NULL CHECK (unit <> ''),
    period_start TEXT CHECK (period_start IS NULL OR length(period_start) IN (4, 7, 10)),
    period_end TEXT CHECK (period_end IS NULL OR length(period_end) IN (4, 7, 10)),
    source_id INTEGER NOT NULL REFERENCES sources(id),
    locator TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    submission_id INTEGER REFERENCES submissions(id),
    created_at TEXT NOT NULL,
    CHECK (high >= low),
    CHECK ((relationship_id IS NOT NULL) + (organisation_id IS NOT NULL) + (breach_id IS NOT NULL) = 1)
) STRICT;
-- The same figure from the same place of the same source is one observation (an import
-- run twice adds nothing); NULLs are compared as empty so they count too.
CREATE UNIQUE INDEX IF NOT EXISTS observations_identity ON observations(
    coalesce(relationship_id, 0), coalesce(organisation_id, 0), coalesce(breach_id, 0),
    metric, coalesce(period_start, ''), coalesce(period_end, ''), source_id, coalesce(locator, '')
);
CREATE INDEX IF NOT EXISTS observations_relationship ON observations(relationship_id);
CREATE INDEX IF NOT EXISTS observations_organisation ON observations(organisation_id);
CREATE INDEX IF NOT EXISTS observations_breach ON observations(breach_id);
CREATE INDEX IF NOT EXISTS observations_source ON observations(source_id);
CREATE INDEX IF NOT EXISTS observations_submission ON observations(submission_id);

-- Withdrawn relationships: when, and the notice readers see at the old address (the
-- reviewer's own reason stays in the audit log, private).
CREATE TABLE IF NOT EXISTS relationship_withdrawals (
    relationship_id INTEGER PRIMARY KEY REFERENCES relationships(id),
    withdrawn_at TEXT NOT NULL,
    public_reason TEXT NOT NULL CHECK (public_reason <> '' AND length(public_reason) <= 1000)
) STRICT;

-- A breach: one incident in which an organisation's data got out (several per
-- organisation). `organisation_id` is the organisation whose data was exposed (HHS's
-- "covered entity"); `vendor_id` the vendor (business associate) whose own breach exposed
-- it, and `relationship_id` the vendor -> client relationship the breach revealed.
-- Dates keep their precision: when it happened (a date or a range), when it was
-- discovered, when the organisation disclosed or notified it; `created_at` is when the
-- registry added it. How many were affected is a range with its unit.
CREATE TABLE IF NOT EXISTS breaches (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE CHECK (slug GLOB '[a-z0-9]*' AND slug NOT GLOB '*[^a-z0-9-]*'),
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    vendor_id INTEGER REFERENCES organisations(id),
    relationship_id INTEGER REFERENCES relationships(id),
    title TEXT NOT NULL CHECK (title <> '' AND length(title) <= 300),
    start_date TEXT CHECK (start_date IS NULL OR length(start_date) IN (4, 7, 10)),
    start_precision TEXT GENERATED ALWAYS AS (
        CASE length(start_date) WHEN 4 THEN 'year' WHEN 7 THEN 'month' WHEN 10 THEN 'day' END
    ) VIRTUAL,
    end_date TEXT CHECK (end_date IS NULL OR length(end_date) IN (4, 7, 10)),
    end_precision TEXT GENERATED ALWAYS AS (
        CASE length(end_date) WHEN 4 THEN 'year' WHEN 7 THEN 'month' WHEN 10 THEN 'day' END
    ) VIRTUAL,
    discovered_date TEXT CHECK (discovered_date IS NULL OR length(discovered_date) IN (4, 7, 10)),
    notified_date TEXT CHECK (notified_date IS NULL OR length(notified_date) IN (4, 7, 10)),
    affected_low INTEGER CHECK (affected_low IS NULL OR affected_low >= 0),
    affected_high INTEGER,
    affected_unit TEXT CHECK (affected_unit IS NULL OR affected_unit IN ('people', 'records', 'accounts')),
    verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    disputed INTEGER NOT NULL DEFAULT 0 CHECK (disputed IN (0, 1)),
    sensitive INTEGER NOT NULL DEFAULT 0 CHECK (sensitive IN (0, 1)),
    description TEXT NOT NULL CHECK (description <> '' AND length(description) <= 5000),
    notes TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    approved_at TEXT,
    submission_id INTEGER REFERENCES submissions(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (vendor_id IS NULL OR vendor_id <> organisation_id),
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date),
    CHECK ((affected_low IS NULL) = (affected_high IS NULL)),
    CHECK (affected_high IS NULL OR affected_high >= affected_low),
    CHECK (affected_low IS NULL OR affected_unit IS NOT NULL)
) STRICT;
CREATE INDEX IF NOT EXISTS breaches_status ON breaches(status);
CREATE INDEX IF NOT EXISTS breaches_organisation ON breaches(organisation_id);
CREATE INDEX IF NOT EXISTS breaches_vendor ON breaches(vendor_id);
CREATE INDEX IF NOT EXISTS breaches_relationship ON breaches(relationship_id);
CREATE INDEX IF NOT EXISTS breaches_submission ON breaches(submission_id);

-- A breach's types, kinds of data and media: several each.
CREATE TABLE IF NOT EXISTS breaches_breach_types (
    breach_id INTEGER NOT NULL REFERENCES breaches(id),
    breach_type TEXT NOT NULL REFERENCES breach_types(code),
    PRIMARY KEY (breach_id, breach_type)
) WITHOUT ROWID, STRICT;

CREATE TABLE IF NOT EXISTS breaches_data_kinds (
    breach_id INTEGER NOT NULL REFERENCES breaches(id),
    data_kind TEXT NOT NULL REFERENCES data_kinds(code),
    PRIMARY KEY (breach_id, data_kind)
) WITHOUT ROWID, STRICT;

CREATE TABLE IF NOT EXISTS breaches_breach_media (
    breach_id INTEGER NOT NULL REFERENCES breaches(id),
    medium TEXT NOT NULL REFERENCES breach_media(code),
    PRIMARY KEY (breach_id, medium)
) WITHOUT ROWID, STRICT;

-- The disclosures that made a breach known.
CREATE TABLE IF NOT EXISTS breaches_disclosures (
    breach_id INTEGER NOT NULL REFERENCES breaches(id),
    disclosure_id INTEGER NOT NULL REFERENCES disclosures(id),
    PRIMARY KEY (breach_id, disclosure_id)
) WITHOUT ROWID, STRICT;
CREATE INDEX IF NOT EXISTS breaches_disclosures_disclosure ON breaches_disclosures(disclosure_id);

-- Where in a source the evidence for a breach is (as `citations` for relationships).
CREATE TABLE IF NOT EXISTS breach_citations (
    id INTEGER PRIMARY KEY,
    breach_id INTEGER NOT NULL REFERENCES breaches(id),
    source_id INTEGER NOT NULL REFERENCES sources(id),
    locator TEXT NOT NULL CHECK (locator <> '' AND length(locator) <= 200),
    quote TEXT CHECK (quote IS NULL OR (quote <> '' AND length(quote) <= 500)),
    submission_id INTEGER REFERENCES submissions(id),
    UNIQUE (breach_id, source_id, locator)
) STRICT;
CREATE INDEX IF NOT EXISTS breach_citations_source ON breach_citations(source_id);

-- What the publisher copies into registry.db: one view per public table, with the
-- same columns, holding only approved rows whose references are published too.
-- A relationship is published only with at least one citation of a published source.

CREATE VIEW IF NOT EXISTS publishable_relationships AS
SELECT r.*
FROM relationships r
JOIN organisations v ON v.id = r.vendor_id AND v.status = 'approved'
JOIN organisations c ON c.id = r.client_id AND c.status = 'approved'
LEFT JOIN disclosures d ON d.id = r.disclosure_id
WHERE r.status = 'approved'
  AND (r.disclosure_id IS NULL OR d.status = 'approved')
  AND EXISTS (
      SELECT 1 FROM citations ci JOIN sources s ON s.id = ci.source_id
      WHERE ci.relationship_id = r.id AND s.status = 'approved'
        AND (ci.submission_id IS NULL
             OR (SELECT su.status FROM submissions su WHERE su.id = ci.submission_id) = 'approved')
  );

CREATE VIEW IF NOT EXISTS public_organisations AS
SELECT o.id, o.slug, o.name, o.kind, o.sector, o.country, o.subdivision, o.city,
       (SELECT p.id FROM organisations p WHERE p.id = o.parent_id AND p.status = 'approved') AS parent_id,
       o.description,
       o.government_level,
       o.person_name_reason,
       -- the published aliases, for search (organisations_fts): "DoJ" finds the Department of Justice
       (SELECT group_concat(alias, '; ') FROM (
            SELECT a.alias FROM public_organisation_aliases a WHERE a.organisation_id = o.id ORDER BY a.alias
        )) AS aliases
FROM organisations o WHERE o.status = 'approved';

CREATE VIEW IF NOT EXISTS public_organisation_aliases AS
SELECT a.id, a.organisation_id, a.alias, a.language
FROM organisation_aliases a JOIN organisations o ON o.id = a.organisation_id
WHERE o.status = 'approved'
  AND (a.submission_id IS NULL OR (SELECT s.status FROM submissions s WHERE s.id = a.submission_id) = 'approved');

CREATE VIEW IF NOT EXISTS public_organisation_identifiers AS
SELECT i.id, i.organisation_id, i.scheme, i.value
FROM organisation_identifiers i JOIN organisations o ON o.id = i.organisation_id
WHERE o.status = 'approved'
  AND (i.submission_id IS NULL OR (SELECT s.status FROM submissions s WHERE s.id = i.submission_id) = 'approved');

CREATE VIEW IF NOT EXISTS public_organisation_redirects AS
SELECT r.old_id, r.organisation_id
FROM organisation_redirects r JOIN organisations o ON o.id = r.organisation_id
WHERE o.status = 'approved';

CREATE VIEW IF NOT EXISTS public_sources AS
SELECT id, slug, title, url, archive_url, publisher, language, published_date,
       published_precision, content_hash, notes
FROM sources WHERE status = 'approved';

CREATE VIEW IF NOT EXISTS public_disclosures AS
SELECT d.id, d.slug, d.title, d.kind, d.disclosed_date, d.disclosed_precision,
       d.period_start, d.period_end, d.disclosed_by, d.reported_count,
       (SELECT count(*) FROM publishable_relationships r WHERE r.disclosure_id = d.id) AS published_count,
       d.description, d.completeness_note,
       (SELECT s.id FROM sources s WHERE s.id = d.primary_source_id AND s.status = 'approved') AS primary_source_id
FROM disclosures d WHERE d.status = 'approved';

CREATE VIEW IF NOT EXISTS public_citations AS
SELECT ci.id, ci.relationship_id, ci.source_id, ci.locator, ci.quote
FROM citations ci
JOIN publishable_relationships r ON r.id = ci.relationship_id
JOIN sources s ON s.id = ci.source_id AND s.status = 'approved'
WHERE ci.submission_id IS NULL OR (SELECT su.status FROM submissions su WHERE su.id = ci.submission_id) = 'approved';

CREATE VIEW IF NOT EXISTS public_responses AS
SELECT re.id, re.relationship_id, re.disclosure_id, re.breach_id, re.organisation_id, re.kind,
       re.response_date, re.author, re.quote, re.summary, re.source_id, re.locator
FROM responses re
JOIN organisations o ON o.id = re.organisation_id AND o.status = 'approved'
JOIN sources s ON s.id = re.source_id AND s.status = 'approved'
WHERE re.status = 'approved'
  AND (re.relationship_id IS NULL OR re.relationship_id IN (SELECT id FROM publishable_relationships))
  AND (re.disclosure_id IS NULL OR re.disclosure_id IN (SELECT id FROM disclosures WHERE status = 'approved'))
  AND (re.breach_id IS NULL OR re.breach_id IN (SELECT id FROM publishable_breaches));

CREATE VIEW IF NOT EXISTS public_observations AS
SELECT ob.id, ob.relationship_id, ob.organisation_id, ob.breach_id, ob.metric, ob.low, ob.high, ob.unit,
       ob.period_start, ob.period_end, ob.source_id, ob.locator
FROM observations ob
JOIN sources s ON s.id = ob.source_id AND s.status = 'approved'
WHERE ob.status = 'approved'
  AND (ob.relationship_id IS NULL OR ob.relationship_id IN (SELECT id FROM publishable_relationships))
  AND (ob.organisation_id IS NULL OR ob.organisation_id IN (SELECT id FROM organisations WHERE status = 'approved'))
  AND (ob.breach_id IS NULL OR ob.breach_id IN (SELECT id FROM publishable_breaches));

-- A breach is published with its organisation (and vendor) published and at least one
-- citation of a published source, as a relationship.
CREATE VIEW IF NOT EXISTS publishable_breaches AS
SELECT b.*
FROM breaches b
JOIN organisations o ON o.id = b.organisation_id AND o.status = 'approved'
LEFT JOIN organisations v ON v.id = b.vendor_id
WHERE b.status = 'approved'
  AND (b.vendor_id IS NULL OR v.status = 'approved')
  AND EXISTS (
      SELECT 1 FROM breach_citations ci JOIN sources s ON s.id = ci.source_id
      WHERE ci.breach_id = b.id AND s.status = 'approved'
        AND (ci.submission_id IS NULL
             OR (SELECT su.status FROM submissions su WHERE su.id = ci.submission_id) = 'approved')
  );

CREATE VIEW IF NOT EXISTS public_breach_citations AS
SELECT ci.id, ci.breach_id, ci.source_id, ci.locator, ci.quote
FROM breach_citations ci
JOIN publishable_breaches b ON b.id = ci.breach_id
JOIN sources s ON s.id = ci.source_id AND s.status = 'approved'
WHERE ci.submission_id IS NULL OR (SELECT su.status FROM submissions su WHERE su.id = ci.submission_id) = 'approved';

CREATE VIEW IF NOT EXISTS public_breaches_breach_types AS
SELECT t.breach_id, t.breach_type FROM breaches_breach_types t JOIN publishable_breaches b ON b.id = t.breach_id;

CREATE VIEW IF NOT EXISTS public_breaches_data_kinds AS
SELECT k.breach_id, k.data_kind FROM breaches_data_kinds k JOIN publishable_breaches b ON b.id = k.breach_id;

CREATE VIEW IF NOT EXISTS public_breaches_breach_media AS
SELECT m.breach_id, m.medium FROM breaches_breach_media m JOIN publishable_breaches b ON b.id = m.breach_id;

CREATE VIEW IF NOT EXISTS public_breaches_disclosures AS
SELECT bd.breach_id, bd.disclosure_id
FROM breaches_disclosures bd
JOIN publishable_breaches b ON b.id = bd.breach_id
JOIN disclosures d ON d.id = bd.disclosure_id AND d.status = 'approved';

-- The denormalised breach readers facet on: labels beside codes; the several types,
-- kinds of data and media as JSON arrays of labels (Datasette's array facets).
CREATE VIEW IF NOT EXISTS public_breaches AS
SELECT b.id, b.slug, b.title,
       o.name AS organisation,
       sec.label AS organisation_sector,
       coalesce(co.name, CASE WHEN o.kind = 'international-body' THEN 'International' END) AS organisation_country,
       v.name AS vendor,
       (SELECT json_group_array(label) FROM (
            SELECT bt.label FROM breaches_breach_types t JOIN breach_types bt ON bt.code = t.breach_type
            WHERE t.breach_id = b.id ORDER BY bt.label)) AS breach_types,
       (SELECT json_group_array(label) FROM (
            SELECT dk.label FROM breaches_data_kinds k JOIN data_kinds dk ON dk.code = k.data_kind
            WHERE k.breach_id = b.id ORDER BY dk.label)) AS data_kinds,
       (SELECT json_group_array(label) FROM (
            SELECT bm.label FROM breaches_breach_media m JOIN breach_media bm ON bm.code = m.medium
            WHERE m.breach_id = b.id ORDER BY bm.label)) AS media,
       b.start_date, b.start_precision, CAST(substr(b.start_date, 1, 4) AS INTEGER) AS start_year,
       b.end_date, b.end_precision, b.discovered_date, b.notified_date,
       b.affected_low, b.affected_high, b.affected_unit,
       b.verified, b.disputed, b.sensitive,
       b.description, b.notes, coalesce(b.approved_at, b.created_at) AS published_at,
       (SELECT count(*) FROM public_breach_citations ci WHERE ci.breach_id = b.id) AS citation_count,
       (SELECT count(*) FROM public_responses re WHERE re.breach_id = b.id) AS response_count,
       b.organisation_id, b.vendor_id,
       (SELECT r.id FROM publishable_relationships r WHERE r.id = b.relationship_id) AS relationship_id,
       o.sector AS organisation_sector_code,
       o.country AS organisation_country_code,
       o.kind AS organisation_kind
FROM publishable_breaches b
JOIN organisations o ON o.id = b.organisation_id
LEFT JOIN organisations v ON v.id = b.vendor_id
JOIN sectors sec ON sec.code = o.sector
LEFT JOIN countries co ON co.code = o.country;

-- The denormalised shape readers facet on: labels beside codes.
CREATE VIEW IF NOT EXISTS public_relationships AS
SELECT r.id,
       v.name AS vendor,
       c.name AS client,
       (SELECT group_concat(alias, '; ') FROM (
            SELECT a.alias FROM public_organisation_aliases a WHERE a.organisation_id = c.id ORDER BY a.alias
        )) AS client_aliases,
       sec.label AS client_sector,
       coalesce(co.name, CASE WHEN c.kind = 'international-body' THEN 'International' END) AS client_country,
       gl.label AS client_government_level,
       arr.label AS arrangement,
       d.title AS disclosure,
       r.product, r.trial_days,
       r.start_date, r.start_precision, CAST(substr(r.start_date, 1, 4) AS INTEGER) AS start_year,
       r.end_date, r.end_precision,
       r.summary, r.notes, coalesce(r.approved_at, r.created_at) AS published_at,
       (SELECT count(*) FROM public_citations ci WHERE ci.relationship_id = r.id) AS citation_count,
       (SELECT count(*) FROM public_responses re WHERE re.relationship_id = r.id) AS response_count,
       r.vendor_id, r.client_id,
       c.sector AS client_sector_code,
       c.country AS client_country_code,
       c.kind AS client_kind,
       c.government_level AS client_government_level_code,
       r.arrangement_code,
       r.disclosure_id
FROM publishable_relationships r
JOIN organisations v ON v.id = r.vendor_id
JOIN organisations c ON c.id = r.client_id
JOIN sectors sec ON sec.code = c.sector
LEFT JOIN countries co ON co.code = c.country
LEFT JOIN government_levels gl ON gl.code = c.government_level
JOIN arrangements arr ON arr.code = r.arrangement_code
LEFT JOIN disclosures d ON d.id = r.disclosure_id;

-- Only id, date and public notice: a reader's old link answers 410 with them.
CREATE VIEW IF NOT EXISTS public_withdrawn_relationships AS
SELECT w.relationship_id AS id, w.withdrawn_at, w.public_reason
FROM relationship_withdrawals w JOIN relationships r ON r.id = w.relationship_id
WHERE r.status = 'withdrawn';

-- PRIVATE. What a contributor sent, as sent, and how to reach them.
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('organisation', 'source', 'disclosure', 'relationship', 'response', 'import',
                                       'correction', 'breach', 'figure')),
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    submitter_name TEXT,
    submitter_contact TEXT,
    idempotency_key TEXT UNIQUE,
    -- 'importing': an import still being written in short transactions, hidden from the
    -- review queue; it becomes 'pending' (or 'approved') at its end, or is removed.
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('importing', 'pending', 'approved', 'rejected')),
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS submissions_status ON submissions(status, created_at);

-- PRIVATE. What an import did with each row of its file (issue 15): the summary's accounting
-- reads it, and the reviewer pages through every row, excluding some before approving the rest.
-- One row per row read. The ids are not foreign keys: a row outlives neither its submission
-- (deleted with it) nor the organisations and relationships it names (removed with the import).
CREATE TABLE IF NOT EXISTS import_rows (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    row INTEGER NOT NULL,  -- the row's number as the report names it (a CSV line, a JSON record)
    -- stored: it made a new relationship (or breach); matched: what it describes was in the
    -- registry already (its citation is added); folded: it describes the same relationship as
    -- the row `folded_into`; skipped: the mapping leaves it out (`detail` says why); rejected:
    -- it breaks a rule (`detail`); filtered: outside the mapping's `where`.
    outcome TEXT NOT NULL CHECK (outcome IN ('stored', 'matched', 'folded', 'skipped', 'rejected', 'filtered')),
    name TEXT,  -- the client's (or breached organisation's) name as the row gives it
    organisation_id INTEGER,  -- the organisation it was matched to or made as
    new_organisation INTEGER NOT NULL DEFAULT 0 CHECK (new_organisation IN (0, 1)),  -- made by this import
    relationship_ids TEXT CHECK (relationship_ids IS NULL OR json_valid(relationship_ids)),  -- or breach ids
    folded_into INTEGER,
    flagged INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),  -- a person-like name (registry.rules.persons)
    detail TEXT,
    excluded INTEGER NOT NULL DEFAULT 0 CHECK (excluded IN (0, 1)),  -- a reviewer left it out of the approval
    PRIMARY KEY (submission_id, row)
) WITHOUT ROWID, STRICT;

-- PRIVATE. Reviewer and admin accounts; passwords hashed, never stored in clear.
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE CHECK (name <> ''),
    password_hash TEXT NOT NULL CHECK (password_hash GLOB '$argon2*'),
    role TEXT NOT NULL CHECK (role IN ('reviewer', 'admin')),
    created_at TEXT NOT NULL
) STRICT;

-- PRIVATE. Reviewer sessions ended before their time (logout): a copy of the session's
-- cookie is refused from then on. A session lives in its signed cookie, so logging in
-- writes nothing (a full disk does not stop it); a row may go once its session would
-- have ended anyway (expires_at, the login time plus REGISTRY_SESSION_HOURS).
CREATE TABLE IF NOT EXISTS ended_sessions (
    session_id TEXT PRIMARY KEY CHECK (length(session_id) BETWEEN 32 AND 64),
    user_id INTEGER NOT NULL REFERENCES users(id),
    ended_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) WITHOUT ROWID, STRICT;
CREATE INDEX IF NOT EXISTS ended_sessions_expiry ON ended_sessions(expires_at);

-- PRIVATE. Review decisions: approve, reject, merge, "not the same", withdraw.
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER REFERENCES submissions(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject', 'merge', 'not-same', 'withdraw', 'edit')),
    note TEXT,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS reviews_submission ON reviews(submission_id);

-- PRIVATE. Reviewers' decisions on pairs of organisations: merged, or not the same
-- (so the pair is no longer proposed as a duplicate).
CREATE TABLE IF NOT EXISTS organisation_decisions (
    id INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    other_id INTEGER NOT NULL REFERENCES organisations(id),
    decision TEXT NOT NULL CHECK (decision IN ('merge', 'not-same')),
    user_id INTEGER NOT NULL REFERENCES users(id),
    reason TEXT NOT NULL CHECK (reason <> ''),
    created_at TEXT NOT NULL,
    CHECK (organisation_id <> other_id)
) STRICT;
CREATE INDEX IF NOT EXISTS organisation_decisions_pair ON organisation_decisions(organisation_id, other_id);

-- PRIVATE. Every change to published data: who, when, old and new value, why.
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    table_name TEXT NOT NULL,
    row_id INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('insert', 'update', 'delete', 'merge', 'withdraw')),
    user_id INTEGER REFERENCES users(id),
    actor TEXT NOT NULL,
    old_value TEXT CHECK (old_value IS NULL OR json_valid(old_value)),
    new_value TEXT CHECK (new_value IS NULL OR json_valid(new_value)),
    reason TEXT,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_log_row ON audit_log(table_name, row_id);

-- PRIVATE. The last publication to registry.db (one row), written in the same transaction
-- as the decision it publishes. registry.db keeps the stamp it holds in its header
-- (PRAGMA application_id). intake.db (WAL) commits before registry.db, and SQLite does not
-- commit two files atomically, so a kill between the two leaves registry.db one stamp
-- behind: `scope` says what to publish again (registry/store/publication.py).
CREATE TABLE IF NOT EXISTS publication_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    stamp INTEGER NOT NULL,
    previous_stamp INTEGER NOT NULL,
    scope TEXT CHECK (scope IS NULL OR json_valid(scope))  -- NULL: every public table
) STRICT;

-- Every foreign key has an index SQLite can use for it (its leading columns; a partial
-- index does not count): deleting a parent row looks for its children through each key,
-- and without one scans the whole child table per row. Rejecting an import of 130,000
-- organisations took over 20 minutes so (tests/test_schema_indexes.py checks them all).
CREATE INDEX IF NOT EXISTS organisations_merged_into ON organisations(merged_into_id);
CREATE INDEX IF NOT EXISTS organisations_kind ON organisations(kind);
CREATE INDEX IF NOT EXISTS organisations_subdivision ON organisations(subdivision);
CREATE INDEX IF NOT EXISTS organisations_government_level ON organisations(government_level);
CREATE INDEX IF NOT EXISTS organisation_redirects_organisation ON organisation_redirects(organisation_id);
CREATE INDEX IF NOT EXISTS organisation_aliases_submission ON organisation_aliases(submission_id);
CREATE INDEX IF NOT EXISTS organisation_identifiers_submission ON organisation_identifiers(submission_id);
CREATE INDEX IF NOT EXISTS organisation_decisions_other ON organisation_decisions(other_id);
CREATE INDEX IF NOT EXISTS organisation_decisions_user ON organisation_decisions(user_id);
CREATE INDEX IF NOT EXISTS relationships_vendor ON relationships(vendor_id);
CREATE INDEX IF NOT EXISTS relationships_arrangement ON relationships(arrangement_code);
CREATE INDEX IF NOT EXISTS citations_submission ON citations(submission_id);
CREATE INDEX IF NOT EXISTS disclosures_primary_source ON disclosures(primary_source_id);
CREATE INDEX IF NOT EXISTS disclosures_submission ON disclosures(submission_id);
CREATE INDEX IF NOT EXISTS responses_source ON responses(source_id);
CREATE INDEX IF NOT EXISTS responses_submission ON responses(submission_id);
CREATE INDEX IF NOT EXISTS breach_citations_submission ON breach_citations(submission_id);
CREATE INDEX IF NOT EXISTS breaches_breach_types_type ON breaches_breach_types(breach_type);
CREATE INDEX IF NOT EXISTS breaches_breach_media_medium ON breaches_breach_media(medium);
CREATE INDEX IF NOT EXISTS breaches_data_kinds_kind ON breaches_data_kinds(data_kind);
CREATE INDEX IF NOT EXISTS audit_log_user ON audit_log(user_id);
CREATE INDEX IF NOT EXISTS ended_sessions_user ON ended_sessions(user_id);
CREATE INDEX IF NOT EXISTS reviews_user ON reviews(user_id);

-- part: registry

-- PUBLIC. Everything below is what Datasette serves, and nothing else.

CREATE TABLE IF NOT EXISTS organisations (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL REFERENCES organisation_kinds(code),
    sector TEXT NOT NULL REFERENCES sectors(code),
    country TEXT REFERENCES countries(code),
    subdivision TEXT REFERENCES subdivisions(code),
    city TEXT,
    parent_id INTEGER REFERENCES organisations(id),
    description TEXT,
    government_level TEXT REFERENCES government_levels(code),
    person_name_reason TEXT,  -- why a name that looks like a person's is this organisation's
    aliases TEXT  -- its published aliases, '; '-separated, for organisations_fts
) STRICT;
CREATE INDEX IF NOT EXISTS organisations_name ON organisations(name);  -- a vendor page looks for namesakes
-- The feeds and canned queries find an organisation by its name in any case (name = :name COLLATE NOCASE).
CREATE INDEX IF NOT EXISTS organisations_name_nocase ON organisations(name COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS organisations_kind ON organisations(kind);
CREATE INDEX IF NOT EXISTS organisations_sector ON organisations(sector);
CREATE INDEX IF NOT EXISTS organisations_country ON organisations(country);
CREATE INDEX IF NOT EXISTS organisations_subdivision ON organisations(subdivision);
CREATE INDEX IF NOT EXISTS organisations_parent ON organisations(parent_id);
CREATE INDEX IF NOT EXISTS organisations_government_level ON organisations(government_level);

CREATE TABLE IF NOT EXISTS organisation_aliases (
    id INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    alias TEXT NOT NULL,
    language TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS organisation_aliases_org ON organisation_aliases(organisation_id);

CREATE TABLE IF NOT EXISTS organisation_identifiers (
    id INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    scheme TEXT NOT NULL,
    value TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS organisation_identifiers_org ON organisation_identifiers(organisation_id);
CREATE INDEX IF NOT EXISTS organisation_identifiers_scheme ON organisation_identifiers(scheme);

CREATE TABLE IF NOT EXISTS organisation_redirects (
    old_id INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id)
) STRICT;

CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    url TEXT,
    archive_url TEXT,
    publisher TEXT,
    language TEXT NOT NULL,
    published_date TEXT,
    published_precision TEXT,
    content_hash TEXT,
    notes TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS sources_publisher ON sources(publisher);
CREATE INDEX IF NOT EXISTS sources_language ON sources(language);

CREATE TABLE IF NOT EXISTS disclosures (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    kind TEXT NOT NULL REFERENCES disclosure_kinds(code),
    disclosed_date TEXT NOT NULL,
    disclosed_precision TEXT NOT NULL,
    period_start TEXT,
    period_end TEXT,
    disclosed_by TEXT NOT NULL,
    reported_count INTEGER,
    published_count INTEGER NOT NULL,
    description TEXT NOT NULL,
    completeness_note TEXT NOT NULL,
    primary_source_id INTEGER REFERENCES sources(id)
) STRICT;
CREATE INDEX IF NOT EXISTS disclosures_kind ON disclosures(kind);

-- One row per published relationship, with the labels readers facet on written
-- beside the codes, and the client's other names for search ("Justice Dept." finds the
-- Department of Justice); relationships_fts, made by sqlite-utils from
-- registry.store.public.SEARCH, indexes it., so facets, CSV and JSON need no joins (measured in
-- benchmarks/facet_shape.py).
CREATE TABLE IF NOT EXISTS relationships (
    id INTEGER PRIMARY KEY,
    vendor TEXT NOT NULL,
    client TEXT NOT NULL,
    client_aliases TEXT,
    client_sector TEXT NOT NULL,
    client_country TEXT,
    client_government_level TEXT,
    arrangement TEXT NOT NULL,
    disclosure TEXT,
    product TEXT,
    trial_days INTEGER,
    start_date TEXT,
    start_precision TEXT,
    start_year INTEGER,  -- start_date's year, for the year facet
    end_date TEXT,
    end_precision TEXT,
    summary TEXT NOT NULL,
    notes TEXT,
    published_at TEXT NOT NULL,
    citation_count INTEGER NOT NULL CHECK (citation_count >= 1),
    response_count INTEGER NOT NULL,
    vendor_id INTEGER NOT NULL REFERENCES organisations(id),
    client_id INTEGER NOT NULL REFERENCES organisations(id),
    client_sector_code TEXT NOT NULL REFERENCES sectors(code),
    client_country_code TEXT REFERENCES countries(code),
    client_kind TEXT NOT NULL REFERENCES organisation_kinds(code),
    client_government_level_code TEXT REFERENCES government_levels(code),
    arrangement_code TEXT NOT NULL REFERENCES arrangements(code),
    disclosure_id INTEGER REFERENCES disclosures(id)
) STRICT;
-- Each faceted column (and vendor with country) with the default sort after it, and id
-- descending so that a backward scan gives Datasette 0.65's page order (published_at
-- desc, then id): a page filtered by facet values counts its rows from one index and
-- reads its first rows in order instead of sorting all its matches, and its "next" pages
-- neither skip nor repeat rows of equal published_at. The facet counts of such a page
-- come from datasette/plugins/counted_facets.py (benchmarks/pages.py).
CREATE INDEX IF NOT EXISTS relationships_vendor_published ON relationships(vendor, published_at, id DESC);
CREATE INDEX IF NOT EXISTS relationships_vendor_country_published
    ON relationships(vendor, client_country, published_at, id DESC);
CREATE INDEX IF NOT EXISTS relationships_client_country_published
    ON relationships(client_country, published_at, id DESC);
CREATE INDEX IF NOT EXISTS relationships_client_sector_published
    ON relationships(client_sector, published_at, id DESC);
CREATE INDEX IF NOT EXISTS relationships_arrangement_published ON relationships(arrangement, published_at, id DESC);
CREATE INDEX IF NOT EXISTS relationships_disclosure_published ON relationships(disclosure, published_at, id DESC);
CREATE INDEX IF NOT EXISTS relationships_client_government_level_published
    ON relationships(client_government_level, published_at, id DESC);
CREATE INDEX IF NOT EXISTS relationships_start_year_published ON relationships(start_year, published_at, id DESC);
CREATE INDEX IF NOT EXISTS relationships_start_date ON relationships(start_date);
CREATE INDEX IF NOT EXISTS relationships_published_at ON relationships(published_at, id DESC);  -- the default sort
-- A vendor's page: its latest clients in order (datasette/plugins/entity_pages.py).
CREATE INDEX IF NOT EXISTS relationships_vendor_id ON relationships(vendor_id, published_at, id DESC);
CREATE INDEX IF NOT EXISTS relationships_client_id ON relationships(client_id);
CREATE INDEX IF NOT EXISTS relationships_disclosure_id ON relationships(disclosure_id);

CREATE TABLE IF NOT EXISTS citations (
    id INTEGER PRIMARY KEY,
    relationship_id INTEGER NOT NULL REFERENCES relationships(id),
    source_id INTEGER NOT NULL REFERENCES sources(id),
    locator TEXT NOT NULL,
    quote TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS citations_relationship ON citations(relationship_id);
CREATE INDEX IF NOT EXISTS citations_source ON citations(source_id);

CREATE TABLE IF NOT EXISTS responses (
    id INTEGER PRIMARY KEY,
    relationship_id INTEGER REFERENCES relationships(id),
    disclosure_id INTEGER REFERENCES disclosures(id),
    breach_id INTEGER REFERENCES breaches(id),
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    kind TEXT NOT NULL REFERENCES response_kinds(code),
    response_date TEXT,
    author TEXT,
    quote TEXT,
    summary TEXT NOT NULL,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    locator TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS responses_relationship ON responses(relationship_id);
CREATE INDEX IF NOT EXISTS responses_disclosure ON responses(disclosure_id);
CREATE INDEX IF NOT EXISTS responses_breach ON responses(breach_id);
CREATE INDEX IF NOT EXISTS responses_organisation ON responses(organisation_id);
CREATE INDEX IF NOT EXISTS responses_kind ON responses(kind);

CREATE TABLE IF NOT EXISTS observations (
    id INTEGER PRIMARY KEY,
    relationship_id INTEGER REFERENCES relationships(id),
    organisation_id INTEGER REFERENCES organisations(id),
    breach_id INTEGER REFERENCES breaches(id),
    metric TEXT NOT NULL,
    low REAL NOT NULL,
    high REAL NOT NULL,
    unit TEXT NOT NULL,
    period_start TEXT,
    period_end TEXT,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    locator TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS observations_relationship ON observations(relationship_id);
CREATE INDEX IF NOT EXISTS observations_organisation ON observations(organisation_id);
CREATE INDEX IF NOT EXISTS observations_breach ON observations(breach_id);
CREATE INDEX IF NOT EXISTS observations_metric ON observations(metric);

-- One row per published breach, denormalised like relationships: labels beside codes,
-- the several breach types, kinds of data and media as JSON arrays of their labels
-- (facets), and the organisation's and vendor's names; breaches_fts indexes it.
CREATE TABLE IF NOT EXISTS breaches (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    organisation TEXT NOT NULL,
    organisation_sector TEXT NOT NULL,
    organisation_country TEXT,
    vendor TEXT,
    breach_types TEXT NOT NULL,
    data_kinds TEXT NOT NULL,
    media TEXT NOT NULL,
    start_date TEXT,
    start_precision TEXT,
    start_year INTEGER,
    end_date TEXT,
    end_precision TEXT,
    discovered_date TEXT,
    notified_date TEXT,
    affected_low INTEGER,
    affected_high INTEGER,
    affected_unit TEXT,
    verified INTEGER NOT NULL,
    disputed INTEGER NOT NULL,
    sensitive INTEGER NOT NULL,
    description TEXT NOT NULL,
    notes TEXT,
    published_at TEXT NOT NULL,
    citation_count INTEGER NOT NULL CHECK (citation_count >= 1),
    response_count INTEGER NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    vendor_id INTEGER REFERENCES organisations(id),
    relationship_id INTEGER REFERENCES relationships(id),
    organisation_sector_code TEXT NOT NULL REFERENCES sectors(code),
    organisation_country_code TEXT REFERENCES countries(code),
    organisation_kind TEXT NOT NULL REFERENCES organisation_kinds(code)
) STRICT;
CREATE INDEX IF NOT EXISTS breaches_published_at ON breaches(published_at, id DESC);
CREATE INDEX IF NOT EXISTS breaches_organisation_id ON breaches(organisation_id, published_at, id DESC);
CREATE INDEX IF NOT EXISTS breaches_vendor_id ON breaches(vendor_id, published_at, id DESC);
CREATE INDEX IF NOT EXISTS breaches_relationship_id ON breaches(relationship_id);
CREATE INDEX IF NOT EXISTS breaches_organisation_sector_published
    ON breaches(organisation_sector, published_at, id DESC);
CREATE INDEX IF NOT EXISTS breaches_organisation_country_published
    ON breaches(organisation_country, published_at, id DESC);
CREATE INDEX IF NOT EXISTS breaches_start_year_published ON breaches(start_year, published_at, id DESC);

CREATE TABLE IF NOT EXISTS breaches_breach_types (
    breach_id INTEGER NOT NULL REFERENCES breaches(id),
    breach_type TEXT NOT NULL REFERENCES breach_types(code),
    PRIMARY KEY (breach_id, breach_type)
) WITHOUT ROWID, STRICT;
CREATE INDEX IF NOT EXISTS breaches_breach_types_type ON breaches_breach_types(breach_type, breach_id);

CREATE TABLE IF NOT EXISTS breaches_data_kinds (
    breach_id INTEGER NOT NULL REFERENCES breaches(id),
    data_kind TEXT NOT NULL REFERENCES data_kinds(code),
    PRIMARY KEY (breach_id, data_kind)
) WITHOUT ROWID, STRICT;
CREATE INDEX IF NOT EXISTS breaches_data_kinds_kind ON breaches_data_kinds(data_kind, breach_id);

CREATE TABLE IF NOT EXISTS breaches_breach_media (
    breach_id INTEGER NOT NULL REFERENCES breaches(id),
    medium TEXT NOT NULL REFERENCES breach_media(code),
    PRIMARY KEY (breach_id, medium)
) WITHOUT ROWID, STRICT;
CREATE INDEX IF NOT EXISTS breaches_breach_media_medium ON breaches_breach_media(medium, breach_id);

CREATE TABLE IF NOT EXISTS breaches_disclosures (
    breach_id INTEGER NOT NULL REFERENCES breaches(id),
    disclosure_id INTEGER NOT NULL REFERENCES disclosures(id),
    PRIMARY KEY (breach_id, disclosure_id)
) WITHOUT ROWID, STRICT;
CREATE INDEX IF NOT EXISTS breaches_disclosures_disclosure ON breaches_disclosures(disclosure_id);

CREATE TABLE IF NOT EXISTS breach_citations (
    id INTEGER PRIMARY KEY,
    breach_id INTEGER NOT NULL REFERENCES breaches(id),
    source_id INTEGER NOT NULL REFERENCES sources(id),
    locator TEXT NOT NULL,
    quote TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS breach_citations_breach ON breach_citations(breach_id);
CREATE INDEX IF NOT EXISTS breach_citations_source ON breach_citations(source_id);

-- A withdrawn relationship's address answers 410 Gone with this notice
-- (datasette/plugins/lasting_links.py).
CREATE TABLE IF NOT EXISTS withdrawn_relationships (
    id INTEGER PRIMARY KEY,
    withdrawn_at TEXT NOT NULL,
    public_reason TEXT NOT NULL
) STRICT;

-- One row per citation, with its relationship and its source: the "relationships with
-- their sources" CSV of the downloads page (/registry/relationship_sources.csv?_stream=on).
-- Read in citation order, each relationship and source found by its key.
CREATE VIEW IF NOT EXISTS relationship_sources AS
SELECT ci.id AS citation_id,
       r.id AS relationship_id,
       r.vendor, r.client, r.client_country, r.arrangement,
       r.start_date, r.end_date, r.disclosure,
       s.title AS source_title, s.url AS source_url, s.archive_url,
       s.publisher, s.published_date,
       ci.locator, ci.quote
FROM citations ci
JOIN relationships r ON r.id = ci.relationship_id
JOIN sources s ON s.id = ci.source_id
ORDER BY ci.id;

-- Every foreign key has an index SQLite can use for it (see the same note in the intake
-- part): a rebuild or a withdrawal deletes parent rows.
CREATE INDEX IF NOT EXISTS organisation_redirects_organisation ON organisation_redirects(organisation_id);
CREATE INDEX IF NOT EXISTS disclosures_primary_source ON disclosures(primary_source_id);
CREATE INDEX IF NOT EXISTS observations_source ON observations(source_id);
CREATE INDEX IF NOT EXISTS responses_source ON responses(source_id);
CREATE INDEX IF NOT EXISTS relationships_arrangement_code ON relationships(arrangement_code);
CREATE INDEX IF NOT EXISTS relationships_client_country_code ON relationships(client_country_code);
CREATE INDEX IF NOT EXISTS relationships_client_government_level_code ON relationships(client_government_level_code);
CREATE INDEX IF NOT EXISTS relationships_client_kind ON relationships(client_kind);
CREATE INDEX IF NOT EXISTS relationships_client_sector_code ON relationships(client_sector_code);
CREATE INDEX IF NOT EXISTS breaches_organisation_country_code ON breaches(organisation_country_code);
CREATE INDEX IF NOT EXISTS breaches_organisation_kind ON breaches(organisation_kind);
CREATE INDEX IF NOT EXISTS breaches_organisation_sector_code ON breaches(organisation_sector_code);
