"""Reviewer forms: login, approve, reject, merge, withdraw."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.fields import IntegerField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; types-WTForms is 3.2
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from registry.rules import limits
from registry.rules.limits import longest
from registry.web.forms.submit import ID_RANGE, at_most


class LoginForm(FlaskForm):
    name = StringField("Account name", [DataRequired("Give your account name."), Length(max=longest("users", "name"))])
    password = PasswordField("Password", [DataRequired("Give your password."), Length(max=limits.PASSWORD)])


class LogoutForm(FlaskForm):
    """Only a CSRF token: logging out is a POST."""


class ApproveForm(FlaskForm):
    note = TextAreaField("Note (private)", [Optional(), at_most("reviews", "note")])
    person_name_reason = TextAreaField(
        "Why the names that look like a person's are organisations (published)",
        [Optional(), at_most("organisations", "person_name_reason")],
        description="Needed only when the page lists names that look like a person's, e.g. 'Doctors' own "
        "practices, listed under the doctor's name.' The registry never publishes people as organisations.",
    )


class RejectForm(FlaskForm):
    reason = TextAreaField(
        "Reason (private)",
        [
            DataRequired("Give the reason for rejecting, for the record."),
            at_most("audit_log", "reason"),
        ],
    )


class MergeForm(FlaskForm):
    survivor_id = IntegerField(
        "Organisation that stays", [InputRequired("Give the number of the organisation that stays."), ID_RANGE]
    )
    other_id = IntegerField(
        "Organisation merged into it", [InputRequired("Give the number of the other organisation."), ID_RANGE]
    )
    decision = RadioField(
        "Decision",
        [InputRequired("Choose merge or not the same.")],
        choices=[
            SelectChoice("merge", "The same organisation: merge"),
            SelectChoice("not-same", "Not the same organisation"),
        ],
    )
    reason = TextAreaField(
        "Why", [DataRequired("Say why, for the record."), at_most("organisation_decisions", "reason")]
    )


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        "Why it is withdrawn (private)",
        [
            DataRequired("Give the reason for withdrawing, for the record."),
            at_most("audit_log", "reason"),
        ],
        description="For reviewers and the audit log; never published.",
    )
    public_reason = TextAreaField(
        "Notice for readers (published)",
        [
            DataRequired("Give the notice readers will see at the relationship's address."),
            at_most("relationship_withdrawals", "public_reason"),
        ],
        description="Shown with the date at the relationship's old address, e.g. 'The source was retracted.' "
        "No names, no review notes.",
    )
