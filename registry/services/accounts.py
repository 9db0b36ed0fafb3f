"""Reviewer and admin accounts: argon2 password hashes, creation, authentication."""

from __future__ import annotations

from typing import Any

import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from registry.store import submissions as submission_store
from registry.store.writers import transaction

ROLES = ("reviewer", "admin")
MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()
# Verifying against this when the account does not exist takes as long as a real check,
# so response times do not tell which account names exist.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class AccountError(ValueError):
    """An account cannot be created as asked."""


def create_user(db: sqlite_utils.Database, name: str, password: str, role: str) -> int:
    """Create an account with a hashed password."""
    name = name.strip()
    if not name or len(name) > 100 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise AccountError("name: use 1 to 100 letters, digits, '.', '-' or '_'")
    if role not in ROLES:
        raise AccountError(f"role: '{role}' is not one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if submission_store.user_by_name(db, name) is not None:
        raise AccountError(f"name: an account called '{name}' exists already")
    with transaction(db):
        return submission_store.insert_user(db, name, _hasher.hash(password), role)


def authenticate(db: sqlite_utils.Database, name: str, password: str) -> dict[str, Any] | None:
    """Return the account if the password is right, else None."""
    user = submission_store.user_by_name(db, name.strip())
    try:
        _hasher.verify(user["password_hash"] if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user["password_hash"]):
        with transaction(db):
            submission_store.set_password_hash(db, user["id"], _hasher.hash(password))
    return {"id": user["id"], "name": user["name"], "role": user["role"]}
