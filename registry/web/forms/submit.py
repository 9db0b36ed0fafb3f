"""The contributor forms: organisation, source, disclosure, relationship, breach, response,
figure, error report."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import Form, FormField
from wtforms.fields import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; types-WTForms is 3.2
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from registry.rules import limits
from registry.rules.government import derive_level
from registry.rules.limits import longest
from registry.rules.records import AFFECTED_UNITS

DATE_HELP = "YYYY, YYYY-MM or YYYY-MM-DD: give only what the source says, e.g. 2020-02."
COUNTRY_HELP = "Country name in English or French, or its code: 'Belgium', 'Belgique' or 'BE'."


TRIAL_DAYS = limits.span("relationships", "trial_days")
ID_RANGE = NumberRange(1, 2**63 - 1, "No published record has this number.")


def limit(n: int) -> Length:
    return Length(max=n, message=f"At most {n} characters.")


def at_most(table: str, column: str) -> Length:
    """The length limit of the column a field is stored in (registry/rules/limits.py)."""
    return limit(longest(table, column))


def person_confirmed_field() -> BooleanField:
    """The box a contributor ticks after the warning about a person's name (registry.rules.persons)."""
    return BooleanField(
        "Submit anyway: the name looks like a person's, a reviewer will decide",
        description="Tick only after the form warned you about a name.",
    )


class SubmitterForm(FlaskForm):
    """Fields every submission has: who sent it (private) and a key against double posts."""

    submitter_name = StringField(
        "Your name (optional, never published)",
        [Optional(), at_most("submissions", "submitter_name")],
        description="So reviewers can thank you.",
    )
    submitter_contact = StringField(
        "Your email (optional, never published)",
        [
            Optional(),
            at_most("submissions", "submitter_contact"),
            Email("Give an email address such as name@example.org, or leave it empty."),
        ],
        description="Only if reviewers may ask you about the sources.",
    )
    idempotency_key = HiddenField()


class PickChoiceField(IntegerField):
    """The organisations a typed name could mean, shown as radio buttons only after the
    server found several (or none exactly): the view fills `candidates`, (id, label) pairs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.candidates: list[tuple[int, str]] = []


class PartyForm(Form):
    """An organisation picked among existing ones, or described to be created."""

    id = IntegerField(validators=[Optional(), ID_RANGE], render_kw={"hidden": True})
    name = StringField(
        "Name",
        [DataRequired("Give the organisation's name."), at_most("organisations", "name")],
        description="As written in the source, e.g. 'Sylvania Police Department'. Pick a suggestion if it exists.",
    )
    is_new = BooleanField(
        "None of the suggestions: this is a different organisation",
        description="Tick only if the organisation you mean is not among the suggestions.",
    )
    kind = SelectField(
        "Kind (new organisations)",
        default="",
        validate_choice=True,
        description="e.g. Public agency for a police force.",
    )
    sector = SelectField(
        "Sector (new organisations)", default="", validate_choice=True, description="e.g. Law enforcement, Retail."
    )
    country = StringField("Country (new organisations)", [Optional(), limit(limits.COUNTRY)], description=COUNTRY_HELP)


class OrganisationPickForm(Form):
    """An organisation that must already be published, named as people know it: the
    suggestions (suggest.js) fill its hidden number; without them the server resolves the
    name (registry.services.submissions.pick_organisation) and, when several could be
    meant, offers them as `choice`."""

    id = IntegerField(validators=[Optional(), ID_RANGE], render_kw={"hidden": True})
    name = StringField(
        "Name",
        [Optional(), at_most("organisations", "name")],
        description="Its name or another name it is known by, e.g. 'Amazon' or 'Amazon Web Services'; "
        "pick a suggestion if one appears. It must already be in the registry.",
    )
    choice = PickChoiceField("Which one do you mean?", validators=[Optional(), ID_RANGE])


class VendorPartyForm(PartyForm):
    """A breach's vendor: optional, so its name is too."""

    name = StringField(
        "Name",
        [Optional(), at_most("organisations", "name")],
        description="The vendor (business associate) whose own breach exposed the data; leave empty if none.",
    )


# WTForms orders fields by when they were made: the vendor's own `name` keeps the place of the
# party's, first in its fieldset (else it came after kind, sector and country).
VendorPartyForm.name.creation_counter = PartyForm.name.creation_counter


class CheckboxesField(SelectMultipleField):
    """Several codes of one vocabulary, as a group of tick boxes (rendered as a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SourceRefForm(Form):
    """A source picked among existing ones, or described to be created."""

    id = IntegerField(validators=[Optional(), ID_RANGE], render_kw={"hidden": True})
    title = StringField(
        "Title",
        [DataRequired("Give the source's title (or pick an existing source)."), at_most("sources", "title")],
        description="e.g. 'Clearview's Facial Recognition App Has Been Used By The Justice Department...'",
    )
    url = StringField(
        "Web address",
        [Optional(), at_most("sources", "url")],
        description="http(s)://... Leave empty for a PDF or print.",
    )
    publisher = StringField(
        "Publisher", [Optional(), at_most("sources", "publisher")], description="e.g. BuzzFeed News"
    )
    language = StringField(
        "Language", [Optional(), at_most("sources", "language")], description="Two-letter code: en, fr, es..."
    )
    published_date = StringField("Date published", [Optional(), limit(limits.DATE)], description=DATE_HELP)


class OrganisationForm(SubmitterForm):
    name = StringField(
        "Name",
        [DataRequired("Give the organisation's name."), at_most("organisations", "name")],
        description="e.g. 'Orlando Police Department'",
    )
    is_new = BooleanField(
        "It has the same name as one in the registry but is a different organisation",
        description="e.g. two sheriff's offices of the same name in different states.",
    )
    kind = SelectField(
        "Kind", [DataRequired("Choose a kind.")], validate_choice=True, description="e.g. Public agency, Company."
    )
    sector = SelectField(
        "Sector", [DataRequired("Choose a sector.")], validate_choice=True, description="e.g. Law enforcement."
    )
    government_level = SelectField(
        "Level of government",
        [Optional()],
        default="",
        validate_choice=True,
        description="Public bodies only: e.g. Local for a sheriff's office, National or federal for the FBI. "
        "Left empty, it is worked out from the name where the name says it.",
    )
    country = StringField("Country", [Optional(), limit(limits.COUNTRY)], description=COUNTRY_HELP)
    subdivision = StringField(
        "State or region",
        [Optional(), limit(limits.SUBDIVISION)],
        description="ISO 3166-2 code, e.g. US-FL for Florida.",
    )
    aliases = TextAreaField(
        "Other names",
        [Optional(), limit(limits.ALIASES)],
        description="One per line, as spelled in sources, e.g. 'Orlando PD'.",
    )
    description = TextAreaField(
        "Description",
        [Optional(), at_most("organisations", "description")],
        description="One line on what it is.",
    )
    person_name_reason = TextAreaField(
        "Why this is an organisation (if its name is a person's)",
        [Optional(), at_most("organisations", "person_name_reason")],
        description="Only when the name is also a person's, e.g. 'A doctor's own practice, listed under the "
        "doctor's name.' The registry never publishes people as organisations. Published.",
    )
    person_name_confirmed = person_confirmed_field()


class SourceForm(SubmitterForm):
    source = FormField(SourceRefForm, label="Source")
    notes = TextAreaField(
        "Notes", [Optional(), at_most("sources", "notes")], description="What it is, where a copy can be found."
    )


class DisclosureForm(SubmitterForm):
    title = StringField(
        "Title",
        [DataRequired("Give a title."), at_most("disclosures", "title")],
        description="e.g. 'Clearview AI's client list (February 2020)'",
    )
    kind = SelectField(
        "Kind",
        [DataRequired("Choose a kind.")],
        validate_choice=True,
        description="e.g. Breach for a hacked client list, Public records release for FOIA documents.",
    )
    disclosed_date = StringField(
        "Date disclosed", [DataRequired("Give the date it became public."), limit(limits.DATE)], description=DATE_HELP
    )
    disclosed_by = StringField(
        "Disclosed by",
        [DataRequired("Say who obtained or published it."), at_most("disclosures", "disclosed_by")],
        description="e.g. BuzzFeed News",
    )
    reported_count = StringField(
        "Entities reported",
        [Optional(), limit(limits.COUNT)],
        description="How many client organisations the disclosure named, e.g. 2,200.",
    )
    period_start = StringField("Period covered from", [Optional(), limit(limits.DATE)], description=DATE_HELP)
    period_end = StringField("Period covered to", [Optional(), limit(limits.DATE)], description=DATE_HELP)
    description = TextAreaField(
        "What it revealed",
        [DataRequired("Describe what it revealed."), at_most("disclosures", "description")],
        description="Two or three lines.",
    )
    completeness_note = TextAreaField(
        "Completeness",
        [DataRequired("Say what the disclosure does not tell."), at_most("disclosures", "completeness_note")],
        description="e.g. 'A snapshot of one month: absence from the list does not mean not a client.'",
    )


class RelationshipForm(SubmitterForm):
    vendor = FormField(PartyForm, label="Vendor")
    client = FormField(PartyForm, label="Client")
    product = StringField(
        "Product",
        [Optional(), at_most("relationships", "product")],
        description="e.g. Rekognition (leave empty if unnamed).",
    )
    arrangement = SelectField(
        "Arrangement",
        [DataRequired("Choose what the sources show.")],
        validate_choice=True,
        description="Only what the sources show: 'most clients had trials' does not make this one a trial.",
    )
    trial_days = IntegerField(
        "Trial length in days",
        [Optional(), NumberRange(*TRIAL_DAYS, f"A number of days from {TRIAL_DAYS[0]} to {TRIAL_DAYS[1]}.")],
        description="Only for a trial, when the source gives it, e.g. 30.",
    )
    start_date = StringField("From", [Optional(), limit(limits.DATE)], description=DATE_HELP)
    end_date = StringField("To", [Optional(), limit(limits.DATE)], description=DATE_HELP)
    disclosure = SelectField(
        "Revealed by",
        [Optional()],
        default="",
        validate_choice=True,
        description="The breach, leak or release it came from, if it is in the registry; else leave empty.",
    )
    summary = TextAreaField(
        "Summary",
        [DataRequired("Say in one sentence what the sources show."), at_most("relationships", "summary")],
        description="e.g. 'Coinbase appears on Clearview AI's client list; it said its teams tested the service.'",
    )
    notes = TextAreaField(
        "Notes", [Optional(), at_most("relationships", "notes")], description="What the sources do not say."
    )
    source = FormField(SourceRefForm, label="Source")
    person_name_confirmed = person_confirmed_field()
    locator = StringField(
        "Where in the source",
        [DataRequired("Say where in the source: page, paragraph or row."), at_most("citations", "locator")],
        description="e.g. 'page 4', 'paragraph 6', 'row 1312'.",
    )
    quote = TextAreaField(
        "Short quote",
        [Optional(), at_most("citations", "quote")],
        description=f"Optional, at most {longest('citations', 'quote')} characters.",
    )


class ResponseForm(SubmitterForm):
    relationship_id = IntegerField(
        "Relationship number",
        [Optional(), ID_RANGE],
        description="The id shown in the registry's relationships table, for a response about one relationship.",
    )
    disclosure_id = IntegerField(
        "Or disclosure number",
        [Optional(), ID_RANGE],
        description="For a response about a whole disclosure, e.g. a vendor's statement on the theft of its list.",
    )
    breach_id = IntegerField("Or breach number", [Optional(), ID_RANGE], description="For a response about a breach.")
    organisation = SelectField(
        "Who responded",
        [Optional()],
        default="",
        choices=[
            SelectChoice("", "— choose —"),
            SelectChoice("vendor", "The vendor"),
            SelectChoice("client", "The client, or the organisation breached"),
        ],
        description="The organisation whose words these are (for a relationship or a breach).",
    )
    responder = FormField(OrganisationPickForm, label="Organisation that responded (for a disclosure)")
    author = StringField(
        "Who spoke for it",
        [Optional(), at_most("responses", "author")],
        description="The named author of a public statement, e.g. 'Tor Ekeland, Clearview AI's lawyer'.",
    )
    kind = SelectField(
        "Response",
        [DataRequired("Choose the kind of response.")],
        validate_choice=True,
        description="e.g. Declined to comment; No response if they were asked and did not answer.",
    )
    response_date = StringField("Date", [Optional(), limit(limits.DATE)], description=DATE_HELP)
    quote = TextAreaField(
        "What they said", [Optional(), at_most("responses", "quote")], description="Verbatim, in its language."
    )
    summary = TextAreaField(
        "Summary",
        [DataRequired("Summarise the response in one sentence."), at_most("responses", "summary")],
        description="In English.",
    )
    source = FormField(SourceRefForm, label="Source of the response")
    locator = StringField(
        "Where in the source", [Optional(), at_most("responses", "locator")], description="e.g. 'paragraph 9'."
    )


class BreachForm(SubmitterForm):
    """One breach of one organisation's data."""

    organisation = FormField(PartyForm, label="Organisation whose data got out")
    vendor = FormField(VendorPartyForm, label="Vendor whose breach exposed it (optional)")
    title = StringField(
        "Title",
        [DataRequired("Give the breach a title."), at_most("breaches", "title")],
        description="e.g. 'Theft of Clearview AI's client list (February 2020)'.",
    )
    start_date = StringField("Happened from", [Optional(), limit(limits.DATE)], description=DATE_HELP)
    end_date = StringField("Happened to", [Optional(), limit(limits.DATE)], description=DATE_HELP)
    discovered_date = StringField("Discovered", [Optional(), limit(limits.DATE)], description=DATE_HELP)
    notified_date = StringField("Disclosed or notified", [Optional(), limit(limits.DATE)], description=DATE_HELP)
    affected_low = StringField(
        "Affected, at least",
        [Optional(), limit(limits.COUNT)],
        description="How many records or people, as the source gives it, e.g. 2,200.",
    )
    affected_high = StringField(
        "Affected, at most", [Optional(), limit(limits.COUNT)], description="Leave empty for an exact number."
    )
    affected_unit = SelectField(
        "Counted in",
        [Optional()],
        default="",
        choices=[SelectChoice("", "— choose —"), *(SelectChoice(u, u.capitalize()) for u in sorted(AFFECTED_UNITS))],
        description="What the numbers count.",
    )
    breach_types = CheckboxesField("How the data got out", [Optional()], validate_choice=True)
    data_kinds = CheckboxesField("Kinds of data exposed", [Optional()], validate_choice=True)
    media = CheckboxesField("Where the data was held", [Optional()], validate_choice=True)
    verified = BooleanField("Verified", description="The organisation or a regulator confirmed it.")
    disputed = BooleanField("Disputed", description="The organisation denies it, or sources disagree.")
    sensitive = BooleanField("Sensitive", description="Health, biometric, financial or other sensitive data.")
    description = TextAreaField(
        "What happened",
        [DataRequired("Describe what happened."), at_most("breaches", "description")],
        description="Two or three lines, only what the sources say.",
    )
    notes = TextAreaField(
        "Notes", [Optional(), at_most("breaches", "notes")], description="What the sources do not say."
    )
    disclosures = SelectMultipleField(
        "Made known by", [Optional()], validate_choice=True, description="The disclosures it came from, if listed."
    )
    source = FormField(SourceRefForm, label="Source")
    locator = StringField(
        "Where in the source",
        [DataRequired("Say where in the source: page, paragraph or row."), at_most("breach_citations", "locator")],
        description="e.g. 'page 4', 'paragraph 6', 'row 1312'.",
    )
    quote = TextAreaField(
        "Short quote",
        [Optional(), at_most("breach_citations", "quote")],
        description=f"Optional, at most {longest('breach_citations', 'quote')} characters.",
    )


class FigureForm(SubmitterForm):
    """A measured figure about an organisation or a breach, with its source."""

    organisation = FormField(OrganisationPickForm, label="Organisation the figure is about")
    breach_id = IntegerField("Or breach number", [Optional(), ID_RANGE], description="The breach it is about.")
    metric = StringField(
        "What is measured",
        [DataRequired("Say what the figure measures."), at_most("observations", "metric")],
        description="e.g. 'lobbying spend', 'government hosting authorisations'.",
    )
    low = StringField(
        "Figure (lowest)", [DataRequired("Give the figure."), limit(limits.COUNT)], description="e.g. 14,200,000."
    )
    high = StringField(
        "Figure (highest)", [Optional(), limit(limits.COUNT)], description="For a range; empty for one number."
    )
    unit = StringField(
        "Unit", [DataRequired("Give the unit."), at_most("observations", "unit")], description="e.g. USD, people."
    )
    period_start = StringField("Period from", [Optional(), limit(limits.DATE)], description=DATE_HELP)
    period_end = StringField("Period to", [Optional(), limit(limits.DATE)], description=DATE_HELP)
    source = FormField(SourceRefForm, label="Source")
    locator = StringField(
        "Where in the source", [Optional(), at_most("observations", "locator")], description="e.g. 'paragraph 18'."
    )


class RequiredUnless:
    """DataRequired, unless the form's field `other` was filled in (then the field may be empty)."""

    def __init__(self, other: str, message: str) -> None:
        self.other, self.required = other, DataRequired(message)

    def __call__(self, form: Form, field: Any) -> None:
        given = form[self.other].raw_data
        if given and str(given[0]).strip() and not (field.raw_data and str(field.raw_data[0]).strip()):
            field.errors[:] = []
            raise StopValidation()
        self.required(form, field)


class CorrectionForm(SubmitterForm):
    """A reader's report of an error in a published relationship or breach, for reviewers only."""

    relationship_id = IntegerField(
        "Relationship number",
        [RequiredUnless("breach_id", "Give the number of a published relationship."), ID_RANGE],
        description="The number in the relationship's address, e.g. 5 for /registry/relationships/5.",
    )
    breach_id = IntegerField(
        "Or breach number",
        [Optional(), ID_RANGE],
        description="The number in the breach's address, e.g. 7 for /registry/breaches/7.",
    )
    problem = TextAreaField(
        "What is wrong",
        [DataRequired("Say what is wrong."), limit(limits.REPORT)],
        description="e.g. 'The client is the Orlando Police Department, not the Orange County Sheriff.'",
    )
    evidence = TextAreaField(
        "How you know",
        [DataRequired("Give your evidence: a link, a document, or where to look."), limit(limits.REPORT)],
        description="Links or references reviewers can check. Nothing you write here is published.",
    )


def suggest_government_level(form: OrganisationForm) -> None:
    """Fill in the level of government the name shows when none was chosen: the contributor
    sees it and may change it (the same rule applies on submission, registry.rules.government)."""
    if not form.government_level.data and form.name.data:
        form.government_level.data = derive_level(form.name.data, form.kind.data or "public-agency") or ""
