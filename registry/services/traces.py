"""Look for secret text anywhere in registry.db: in every table's cells, in the search
indexes' entries, and in the raw bytes of the file and its journal.

Secret text is private values (submitters' names and contacts, reviewers, notes) and what
withdrawn or merged relationships published, less whatever is public anyway: a value a
rebuild from intake.db publishes is not a leak wherever it appears (an anonymous
submitter calling themself "Clearview AI" must not turn `registry check` red).

Matching is Aho-Corasick (ahocorasick-rs) over UTF-8 bytes lower-cased in ASCII, so one
pass reads any number of secrets: 2.7 s of CPU for the 1.3 GB file of a million
relationships. Short secrets must be whole words where their ends are letters or digits: a
reviewer called "admin" is not leaked by "Administration"."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import ahocorasick_rs
import sqlite_utils

from registry.store import private, public, search_index, traces
from registry.store.curation import unpublished_relationship_texts

# The shortest withdrawn text worth looking for, per field: names and a product from 4
# characters, free text from 12 (a one-word summary is too likely to be ordinary words).
SHORTEST_WITHDRAWN = {"vendor": 4, "client": 4, "client alias": 4, "product": 4, "disclosure": 4}
SHORTEST_FREE_TEXT = 12
WHOLE_FROM = 12


@dataclass(frozen=True)
class Secret:
    text: str
    what: str  # how a problem names it: "a private value", "text of withdrawn relationship 22 (summary)"


class Finder:
    """Find which of many secrets occur in chunks of bytes, in one pass per chunk."""

    def __init__(self, secrets: Iterable[Secret]) -> None:
        self.secrets = sorted(set(secrets), key=lambda s: (s.text, s.what))
        self.patterns = [s.text.encode("utf-8").lower() for s in self.secrets]
        self.longest = max((len(p) for p in self.patterns), default=0)
        self.automaton = ahocorasick_rs.BytesAhoCorasick(self.patterns) if self.patterns else None

    def found(self, chunk: bytes) -> set[int]:
        """Indexes of the secrets that occur in `chunk` as whole words."""
        if self.automaton is None:
            return set()
        low = chunk.lower()
        hits = set()
        for index, start, end in self.automaton.find_matches_as_indexes(low, overlapping=True):
            if index not in hits and _whole(low, start, end, self.patterns[index]):
                hits.add(index)
        return hits

    def without(self, indexes: set[int]) -> Finder:
        return Finder(s for i, s in enumerate(self.secrets) if i not in indexes)

    def without_secrets(self, secrets: set[Secret]) -> Finder:
        return Finder(s for s in self.secrets if s not in secrets)


def _whole(text: bytes, start: int, end: int, pattern: bytes) -> bool:
    """Whether a match is not a piece of a longer word (only where the pattern's own end is
    a letter or digit; any byte of a multi-byte character counts as a letter). Secrets of
    WHOLE_FROM bytes or more match anywhere: in a file, the byte before a text is its
    length or type, any value, and a long name or sentence inside a longer word is no
    accident."""
    if len(pattern) >= WHOLE_FROM:
        return True
    before = text[start - 1 : start]
    after = text[end : end + 1]
    return not (_wordy(pattern[:1]) and _wordy(before)) and not (_wordy(pattern[-1:]) and _wordy(after))


def _wordy(byte: bytes) -> bool:
    return bool(byte) and (byte.isalnum() or byte == b"_" or byte[0] >= 0x80)


def secrets(intake: sqlite_utils.Database) -> list[Secret]:
    """Every private value and every text of a withdrawn or merged relationship, long enough to tell."""
    found = [Secret(value, "a private value") for value in private.private_values(intake)]
    for rel_id, status, field, text in unpublished_relationship_texts(intake):
        text = text.strip()
        if len(text) >= SHORTEST_WITHDRAWN.get(field, SHORTEST_FREE_TEXT):
            found.append(Secret(text, f"text of {status} relationship {rel_id} ({field})"))
    return found


def published(finder: Finder, fresh: sqlite_utils.Database) -> set[Secret]:
    """The secrets that a rebuild from intake.db publishes itself: not secret after all.
    Each one found leaves the matcher, which is not run again where it matched."""
    found: set[Secret] = set()
    for table in [*public.PUBLIC_TABLES, "sqlite_master"]:  # the schema, readable by anyone, too
        for chunk in traces.table_bytes(fresh, table):
            hits = finder.found(chunk)
            if hits:
                found |= {finder.secrets[i] for i in hits}
                finder = finder.without(hits)
    return found


def cell_problems(finder: Finder, registry: sqlite_utils.Database) -> Iterator[tuple[Secret, str]]:
    """(secret, problem) for each table and column of registry.db holding a secret."""
    for table in traces.stored_tables(registry):
        hits: set[int] = set()
        for chunk in traces.table_bytes(registry, table):
            hits |= finder.found(chunk)
        if not hits:
            continue
        narrowed = finder.without(set(range(len(finder.secrets))) - hits)
        for column in traces.columns(registry, table):
            for index in {i for chunk in traces.table_bytes(registry, table, column) for i in narrowed.found(chunk)}:
                secret = narrowed.secrets[index]
                yield secret, f"registry.db {table}.{column} holds {secret.what}"


def index_problems(registry: sqlite_utils.Database, withdrawn: dict[int, tuple[str, list[str]]]) -> list[str]:
    """Words of withdrawn (or merged) relationships that the search index still keeps
    against their rows; `withdrawn` gives each one's status and texts."""
    gone = set(withdrawn) - traces.relationship_ids(registry)
    if not gone:
        return []
    texts = [text for rel_id in gone for text in withdrawn[rel_id][1]]
    words = search_index.tokens(registry, texts, public.TOKENIZE)
    kept: dict[int, set[str]] = {}
    for entry in search_index.entries(registry, "relationships_fts", words, gone):
        if entry.rowid in gone:
            kept.setdefault(entry.rowid, set()).add(entry.term)
    return [
        f"registry.db relationships_fts_data keeps words of {withdrawn[rel_id][0]} relationship {rel_id}: "
        f"{', '.join(sorted(terms)[:8])} (run `registry publish --rebuild`)"
        for rel_id, terms in sorted(kept.items())
    ]


def file_problems(finder: Finder, path: Path) -> Iterator[tuple[Secret, str]]:
    """(secret, problem) for secrets in the raw bytes of the file or its journal: free
    pages, the slack of pages, old copies of pages."""
    where: dict[int, str] = {}
    for name, chunk in traces.file_bytes(path, finder.longest):
        for index in finder.found(chunk):
            where.setdefault(index, name)
    for i, name in sorted(where.items()):
        yield finder.secrets[i], f"{name}'s raw bytes hold {finder.secrets[i].what}, outside any row (free pages?)"


def trace_problems(
    intake: sqlite_utils.Database, registry: sqlite_utils.Database, path: Path, fresh: sqlite_utils.Database
) -> list[str]:
    """Every place in registry.db's file where private or withdrawn text is, that no
    rebuild would publish. Names a rebuild publishes as such (a vendor's, given as a
    submitter's) are dropped first, at the cost of a set; the rest is looked for in the
    rebuild's public tables, then what remains in registry.db, its index and its bytes."""
    names = traces.public_names(fresh)
    finder = Finder(s for s in secrets(intake) if s.text.casefold() not in names)
    finder = finder.without_secrets(published(finder, fresh))
    found = list(cell_problems(finder, registry)) if finder.secrets else []
    in_cells = {secret for secret, _ in found}
    rest = finder.without_secrets(in_cells)  # a secret in a cell is in the file's bytes too
    found += file_problems(rest, path) if rest.secrets else []
    withdrawn: dict[int, tuple[str, list[str]]] = {}
    for rel_id, status, _, text in unpublished_relationship_texts(intake):
        withdrawn.setdefault(rel_id, (status, []))[1].append(text)
    return [problem for _, problem in found] + index_problems(registry, withdrawn)
