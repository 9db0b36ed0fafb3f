"""Names that look like a private person's, which the registry never publishes as an organisation.

A leaked list may name people where organisations belong (129 targets of a spyware vendor
were once imported as its "clients"), and some real organisations are named after a person
(a doctor's own practice: "L. Douglas Carlson, M.D." in the HHS breach files). So a name that
looks like a person's is flagged, not refused: a form warns, an import lists it, and it is
approved and published only with a statement of why it is an organisation
(`organisations.person_name_reason`).

The judgement is probablepeople's (a CRF trained to tell people's names from companies'),
asked only about the part of a name that could be a person's: words that only organisations
use ("Police", "County", "Inc", "of") settle a part at once, and a doctor's credentials
("M.D.", "DDS") are cut off first, and the 1990 US census's given and family names settle
the short names probablepeople gets wrong ("James Comer" is a company to it). On the 9,989
organisation names of ../shared/data and 2,719 people's names this flags 93% of the people
(99% of the US Congress) and 8 organisations, where probablepeople alone flags 83% and 324:
the figures, and how they were measured, are in docs/contributing.md ("Names of people";
`benchmarks/person_names.py`)."""

from __future__ import annotations

import functools
import re
import unicodedata
from importlib import resources

import probablepeople


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words that only an organisation's name holds (compared folded, without dots).
ORGANISATION_WORDS = _word_set(
    # public bodies, police and justice
    """
    police pd dps so cso sheriff sheriffs department dept office county city town township village borough parish
    state states patrol highway district attorney attorneys court courts agency bureau commission authority board
    council government ministry army navy force base marshals fusion task unit division enforcement security safety
    protection corrections correctional jail prison detention investigations investigation da prosecutor coroner
    constable rangers fire rescue dispatch station public federal national regional international administration
    dtf riss rocic hidta hsi cbp ice fbi dea atf usms nypd lapd rcmp
    """
    # health
    """
    hospital hospitals hosptial clinic clinics health healthcare medical medicine center centre centers pharmacy
    imaging radiology orthopaedics orthopedics orthopaedic orthopedic dental dentistry podiatry pediatrics dermatology
    cardiology oncology urology pathology surgery surgical therapy rehabilitation hospice care physicians practice
    specialists diagnostics ambulance vamc
    """
    # companies and other bodies
    """
    services service group inc incorporated llc corp corporation co company ltd limited lp llp plc association
    associates assoc partners affiliates bank trust foundation institute society union church fund plan program
    project network systems system solutions technologies technology tech labs lab laboratory laboratories insurance
    management consulting community memorial benefits welfare enterprise enterprises industries holdings capital
    financial media communications data demo test training team resources power energy electric life register engine
    airport airline airlines port transit railroad intercontinental tribe tribes home homes university college school
    schools usa us america american ai resort casino casinos garden gardens mobile stores store motors bancorp mutual
    club clubs fitness gym wireless telecom cable broadband hotel hotels restaurant restaurants cafe market markets
    mart supermarket shop shops outlet realty properties auto automotive credit loans finance brewing foods logistics
    shipping express airways cinema theatre theater museum library sports arena stadium towers street
    """
    # other languages
    """
    ministere ministerio ministero ministerium justice justicia politie polizei policia polícia gendarmerie federale
    nationale nacional banque banco banca societe gmbh sarl sas bv nv spa srl ag kg oyj
    """
    # words a person's name does not hold ("Pathway to Hope", "Bank of America")
    "of the for at by in to"
)
# A doctor's or dentist's credentials and a practice's legal form: the name before them is judged.
CREDENTIALS = re.compile(
    # "DO" and "OD" only in capitals: "Do" is also a Vietnamese family name
    r"(?:,|\s)\s*(?:M\.?\s?D|D\.?D\.?S|D\.?M\.?D|D\.?P\.?M|Ph\.?\s?D|Psy\.?\s?D|F\.?A\.?C\.?[PS]|(?-i:D\.?O|O\.?D))\b\.?.*$",
    re.IGNORECASE,
)
# Titles before a name, in the languages of the lists seen: "Dr.", "Frau", "Ing.", "Lic.", "Hj."
# Folded words that may start what CREDENTIALS cuts off: a name holding one is judged in full.
CREDENTIAL_WORDS = _word_set("md m d dds dmd dpm phd ph psyd psy facp facs do od")
DIGIT = re.compile(r"\d")
HONORIFIC = re.compile(
    r"^(?:(?:dr|dra|drs|mr|mrs|ms|mx|miss|prof|sir|dame|herr|frau|dott|ing|dipl|lic|av|hj|kh|sr|sra|srta|mme|mlle|m)"
    r"\b\.?(?:-ing\.)?\s*)+",
    re.IGNORECASE,
)
# Degrees and generations after a name: "B.Sc.", "Jr.", "III" (left out of the judgement).
AFTER_NAME = re.compile(
    r"(?:,?\s+(?:jr|sr|ii|iii|iv|b\.?\s?sc|m\.?\s?sc|b\.?\s?a|m\.?\s?a|b\.?\s?eng|mba|dvm|esq|rn|np))+\.?$", re.I
)
NICKNAME = re.compile(r"\s*[\"“][^\"”]*[\"”]\s*")  # Charles J. "Chuck" Fleischmann
# What joins several names in one cell: "Clinic, William Graham, DO", "Dental/Richard B. Love, DDS".
SEPARATORS = re.compile(r"\s*(?:[,;/()]|\s-\s?|\bd/?b/?a\b|\bc/o\b)\s*", re.IGNORECASE)
US_STATES = _word_set(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH "
    "OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI"
)
# A practice's legal form after a doctor's credentials ("Roberts S. Smith M.D. Inc."): not a sign of an organisation.
LEGAL_FORMS = _word_set("inc incorporated llc pllc pc pa ps psc sc ltd corp co lp llp")
NOT_LEGAL_FORMS = ORGANISATION_WORDS - LEGAL_FORMS
ACRONYM = re.compile(r"^[A-Z]{3,}$")  # "Kansas KBI", "LAPD Sherman Oaks" (in a name not written in capitals)
NAME_TOKEN = re.compile(r"^[^\W\d_](?:[^\W\d_]|['’.-])*$")
PERSON_LABELS = frozenset(
    {"PrefixMarital", "PrefixOther", "GivenName", "FirstInitial", "MiddleName", "MiddleInitial", "Surname",
     "LastInitial", "SuffixGenerational", "SuffixOther", "Nickname"}
)  # fmt: skip
ASCII_LETTERS = str.maketrans({"ı": "i", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss"})
MOST_NAME_WORDS = 6  # longer runs of words are titles and descriptions, not one person's name


@functools.cache
def census_names() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, family names) of the 1990 US census (public domain), as the `names` package ships
    them: probablepeople alone calls "James Comer" a corporation, a known given name says otherwise."""
    folder = resources.files("names")
    given = frozenset(
        line.split()[0].casefold()
        for file in ("dist.female.first", "dist.male.first")
        for line in folder.joinpath(file).read_text(encoding="ascii").splitlines()
        if line.strip()
    )
    family = frozenset(
        line.split()[0].casefold()
        for line in folder.joinpath("dist.all.last").read_text(encoding="ascii").splitlines()
        if line.strip()
    )
    return given, family


@functools.lru_cache(maxsize=200_000)  # imports repeat names: each distinct name is judged once
def looks_like_person(name: str) -> bool:
    """Whether `name`, or a part of it, looks like a private person's name."""
    text = " ".join(NICKNAME.sub(" ", str(name)).split())
    if not text or DIGIT.search(text):
        return False
    folded = {_folded(w) for w in text.split()}
    if folded & ORGANISATION_WORDS and not folded & CREDENTIAL_WORDS and not SEPARATORS.search(text):
        return False  # most names of a large list ("Greenfield Police Department"): no pattern needed
    if _part_is_person(text):
        return True
    # A person named beside an organisation: "Eastmoreland Surgical Clinic, William Graham, DO". A
    # fragment has lost the words around it, so probablepeople's guess alone does not flag it.
    parts = [p for p in SEPARATORS.split(text) if p]
    return len(parts) > 1 and any(_part_is_person(p, fragment=True) for p in parts)


def person_name_warning(name: str, where: str = "in person_name_reason") -> str:
    """What a contributor or reviewer is told about a flagged name; `where` says where to answer."""
    return (
        f"'{name}' looks like a private person's name: the registry never publishes people as organisations. "
        f"If it is an organisation's (a doctor's practice named after the doctor), say why {where}."
    )


def unstated_person(name: str, reason: str | None) -> bool:
    """A name that looks like a person's with no statement of why it is an organisation's."""
    return not (reason or "").strip() and looks_like_person(name)


def _part_is_person(part: str, fragment: bool = False) -> bool:
    """Whether one name, or one `fragment` of a cell that joins several, is a person's."""
    honorific = HONORIFIC.match(part) is not None
    bare = HONORIFIC.sub("", part)
    credentials = CREDENTIALS.search(bare)
    if credentials and any(_folded(w) in NOT_LEGAL_FORMS for w in credentials.group().split()):
        return False  # "Forest Heights MD PD": Maryland, not a doctor
    text = AFTER_NAME.sub("", CREDENTIALS.sub("", bare).strip(" ,.-&")).strip(" ,.-&")
    words = text.split()
    if not words or len(words) > MOST_NAME_WORDS or "&" in text:
        return False
    shouting = text.isupper()
    for word in words:
        if _folded(word) in ORGANISATION_WORDS or not NAME_TOKEN.match(word):
            return False
        if not shouting and (word in US_STATES or ACRONYM.match(word)):  # "Hamilton GA", "Kansas KBI"
            return False
    if honorific or (credentials and len(words) >= 2):  # "Dr. Trandinh", "Charles Mitchell MD"
        return True
    if len(words) < 2:
        return False
    return _known_names(words, fragment) or (not fragment and _tagged_person(_ascii(text)))


def _folded(word: str) -> str:
    return word.strip(",").replace(".", "").casefold()


def _known_names(words: list[str], fragment: bool) -> bool:
    """A census given name first ("Connor Wyatt"), initials then a census family name ("J.D. Vance"), or
    (for a whole name of two or three words) a census family name last ("Isabela Alves")."""
    given, family = census_names()
    names = [_ascii(w).replace(".", "").casefold() for w in words]
    initials = 0
    while (
        initials < len(names) - 1
        and len(words[initials].rstrip(".").replace(".", "")) <= 2
        and words[initials][1:2] in (".", "")
    ):
        initials += 1
    if initials:
        return names[-1] in family
    return names[0] in given or (not fragment and len(names) <= 3 and names[-1] in family)


def _ascii(text: str) -> str:
    """Without accents ("Güçlü" -> "Guclu"): probablepeople learnt its names from ASCII examples."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return bare.translate(ASCII_LETTERS)


def _tagged_person(text: str) -> bool:
    """probablepeople's answer; when it finds two names in one string, the majority of its labels."""
    try:
        _, kind = probablepeople.tag(text)
    except probablepeople.RepeatedLabelError:
        labels = [label for _, label in probablepeople.parse(text)]
        return sum(label in PERSON_LABELS for label in labels) * 2 > len(labels)
    return kind in ("Person", "Household")
