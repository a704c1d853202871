"""Privacy steps on structured data: consent (opt-out) before fitting, identifier handling before release."""

from hygeia.privacy.consent import ConsentResult, apply_opt_out, canonical_id, load_opt_out
from hygeia.privacy.identifiers import IdentifierAction, apply_identifier_plan, plan_identifiers

__all__ = ["ConsentResult", "IdentifierAction", "apply_identifier_plan", "apply_opt_out", "canonical_id",
           "load_opt_out", "plan_identifiers"]
