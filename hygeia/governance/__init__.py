"""Policy, gate, review queue, ledger, model card and the release path."""
