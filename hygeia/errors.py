"""One exception family for everything a user can cause.

The CLI prints ``str(error)`` on one line and exits with ``error.exit_code``; a
traceback is shown only with ``--debug``. Messages name the problem *and* the fix.
"""

from __future__ import annotations


class HygeiaError(Exception):
    """Base of every error Hygeia raises on purpose."""

    exit_code: int = 2


class DataError(HygeiaError):
    """The input data cannot be read or is unfit for the requested step."""


class SchemaError(DataError):
    """A schema (inferred or from a YAML override) is inconsistent with the data."""


class PolicyError(HygeiaError):
    """A policy file is missing, malformed or names something that does not exist."""


class GeneratorError(HygeiaError):
    """A generator was misused (unknown name, sampled before fit, bad parameters)."""


class EvaluationError(HygeiaError):
    """Real and synthetic tables cannot be compared (no shared columns, bad target)."""


class StoreError(HygeiaError):
    """The store cannot be reached or holds something it should not."""


class NotFoundError(StoreError):
    """An artifact, review or entry with the given id does not exist."""


class LedgerIntegrityError(StoreError):
    """The ledger's hash chain is broken."""

    exit_code = 4


class ReviewError(HygeiaError):
    """A review decision is not allowed in the artifact's current state."""


class ReleaseError(HygeiaError):
    """An artifact cannot be released (gate failed, not approved, tampered, target exists)."""


class TextError(HygeiaError):
    """A clinical text step cannot run (unreadable note, unknown task, bad gold-standard file)."""


class DeidError(TextError):
    """De-identification cannot run or would let identifiers through (bad input, bad configuration)."""


class BackendError(TextError):
    """An LLM backend cannot be reached, refuses the request, or would receive text that is not de-identified."""


class AuthError(HygeiaError):
    """A request carries no valid credentials (HTTP 401)."""


class PermissionDenied(HygeiaError):
    """The caller's role does not allow this action (HTTP 403)."""
