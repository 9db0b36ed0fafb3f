"""The contributor forms: organisation, source, disclosure, relationship, response."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Form, FormField
from wtforms.fields import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

DATE_HELP = "YYYY, YYYY-MM or YYYY-MM-DD: give only what the source says, e.g. 2020-02."
COUNTRY_HELP = "Country name in English or French, or its code: 'Belgium', 'Belgique' or 'BE'."


ID_RANGE = NumberRange(1, 2**63 - 1, "No published record has this number.")


def limit(n: int) -> Length:
    return Length(max=n, message=f"At most {n} characters.")


class SubmitterForm(FlaskForm):
    """Fields every submission has: who sent it (private) and a key against double posts."""

    submitter_name = StringField(
        "Your name (optional, never published)", [Optional(), limit(200)], description="So reviewers can thank you."
    )
    submitter_contact = StringField(
        "Your email (optional, never published)",
        [Optional(), limit(200), Email("Give an email address such as name@example.org, or leave it empty.")],
        description="Only if reviewers may ask you about the sources.",
    )
    idempotency_key = HiddenField()


class PartyForm(Form):
    """An organisation picked among existing ones, or described to be created."""

    id = IntegerField(validators=[Optional(), ID_RANGE], render_kw={"hidden": True})
    name = StringField(
        "Name",
        [DataRequired("Give the organisation's name."), limit(300)],
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
    country = StringField("Country (new organisations)", [Optional(), limit(100)], description=COUNTRY_HELP)


class SourceRefForm(Form):
    """A source picked among existing ones, or described to be created."""

    id = IntegerField(validators=[Optional(), ID_RANGE], render_kw={"hidden": True})
    title = StringField(
        "Title",
        [DataRequired("Give the source's title (or pick an existing source)."), limit(500)],
        description="e.g. 'Clearview's Facial Recognition App Has Been Used By The Justice Department...'",
    )
    url = StringField(
        "Web address", [Optional(), limit(2000)], description="http(s)://... Leave empty for a PDF or print."
    )
    publisher = StringField("Publisher", [Optional(), limit(200)], description="e.g. BuzzFeed News")
    language = StringField("Language", [Optional(), limit(3)], description="Two-letter code: en, fr, es...")
    published_date = StringField("Date published", [Optional(), limit(10)], description=DATE_HELP)


class OrganisationForm(SubmitterForm):
    name = StringField(
        "Name",
        [DataRequired("Give the organisation's name."), limit(300)],
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
    country = StringField("Country", [Optional(), limit(100)], description=COUNTRY_HELP)
    subdivision = StringField(
        "State or region", [Optional(), limit(10)], description="ISO 3166-2 code, e.g. US-FL for Florida."
    )
    aliases = TextAreaField(
        "Other names", [Optional(), limit(3000)], description="One per line, as spelled in sources, e.g. 'Orlando PD'."
    )
    description = TextAreaField("Description", [Optional(), limit(2000)], description="One line on what it is.")


class SourceForm(SubmitterForm):
    source = FormField(SourceRefForm, label="Source")
    notes = TextAreaField("Notes", [Optional(), limit(2000)], description="What it is, where a copy can be found.")


class DisclosureForm(SubmitterForm):
    title = StringField(
        "Title",
        [DataRequired("Give a title."), limit(300)],
        description="e.g. 'Clearview AI's client list (February 2020)'",
    )
    kind = SelectField(
        "Kind",
        [DataRequired("Choose a kind.")],
        validate_choice=True,
        description="e.g. Breach for a hacked client list, Public records release for FOIA documents.",
    )
    disclosed_date = StringField(
        "Date disclosed", [DataRequired("Give the date it became public."), limit(10)], description=DATE_HELP
    )
    disclosed_by = StringField(
        "Disclosed by",
        [DataRequired("Say who obtained or published it."), limit(300)],
        description="e.g. BuzzFeed News",
    )
    reported_count = StringField(
        "Entities reported",
        [Optional(), limit(20)],
        description="How many client organisations the disclosure named, e.g. 2,200.",
    )
    period_start = StringField("Period covered from", [Optional(), limit(10)], description=DATE_HELP)
    period_end = StringField("Period covered to", [Optional(), limit(10)], description=DATE_HELP)
    description = TextAreaField(
        "What it revealed", [DataRequired("Describe what it revealed."), limit(4000)], description="Two or three lines."
    )
    completeness_note = TextAreaField(
        "Completeness",
        [DataRequired("Say what the disclosure does not tell."), limit(2000)],
        description="e.g. 'A snapshot of one month: absence from the list does not mean not a client.'",
    )


class RelationshipForm(SubmitterForm):
    vendor = FormField(PartyForm, label="Vendor")
    client = FormField(PartyForm, label="Client")
    product = StringField("Product", [Optional(), limit(200)], description="e.g. Rekognition (leave empty if unnamed).")
    arrangement = SelectField(
        "Arrangement",
        [DataRequired("Choose what the sources show.")],
        validate_choice=True,
        description="Only what the sources show: 'most clients had trials' does not make this one a trial.",
    )
    trial_days = IntegerField(
        "Trial length in days",
        [Optional(), NumberRange(1, 3650, "A number of days from 1 to 3650.")],
        description="Only for a trial, when the source gives it, e.g. 30.",
    )
    start_date = StringField("From", [Optional(), limit(10)], description=DATE_HELP)
    end_date = StringField("To", [Optional(), limit(10)], description=DATE_HELP)
    disclosure = SelectField(
        "Revealed by",
        [Optional()],
        default="",
        validate_choice=True,
        description="The breach, leak or release it came from, if it is in the registry; else leave empty.",
    )
    summary = TextAreaField(
        "Summary",
        [DataRequired("Say in one sentence what the sources show."), limit(1000)],
        description="e.g. 'Coinbase appears on Clearview AI's client list; it said its teams tested the service.'",
    )
    notes = TextAreaField("Notes", [Optional(), limit(2000)], description="What the sources do not say.")
    source = FormField(SourceRefForm, label="Source")
    locator = StringField(
        "Where in the source",
        [DataRequired("Say where in the source: page, paragraph or row."), limit(200)],
        description="e.g. 'page 4', 'paragraph 6', 'row 1312'.",
    )
    quote = TextAreaField("Short quote", [Optional(), limit(500)], description="Optional, at most 500 characters.")


class ResponseForm(SubmitterForm):
    relationship_id = IntegerField(
        "Relationship number",
        [DataRequired("Give the number of a published relationship."), ID_RANGE],
        description="The id shown in the registry's relationships table.",
    )
    organisation = SelectField(
        "Who responded",
        [DataRequired("Choose the vendor or the client.")],
        choices=[SelectChoice("vendor", "The vendor"), SelectChoice("client", "The client")],
        description="The organisation whose words these are.",
    )
    kind = SelectField(
        "Response",
        [DataRequired("Choose the kind of response.")],
        validate_choice=True,
        description="e.g. Declined to comment; No response if they were asked and did not answer.",
    )
    response_date = StringField("Date", [Optional(), limit(10)], description=DATE_HELP)
    quote = TextAreaField("What they said", [Optional(), limit(1000)], description="Verbatim, in its language.")
    summary = TextAreaField(
        "Summary", [DataRequired("Summarise the response in one sentence."), limit(2000)], description="In English."
    )
    source = FormField(SourceRefForm, label="Source of the response")
    locator = StringField("Where in the source", [Optional(), limit(200)], description="e.g. 'paragraph 9'.")
