"""The kinds of change the audit log records, as `airlock audit --action` accepts them.

Apart from `audit` so that building the CLI's parser does not import SQLAlchemy."""

from __future__ import annotations

ADMIT = "model.admit"
REMOVE = "model.remove"
KEY_CREATE = "key.create"
KEY_REVOKE = "key.revoke"
EVAL_RECORD = "eval.record"
CONFIGURE = "model.configure"
ACTIONS = (ADMIT, REMOVE, KEY_CREATE, KEY_REVOKE, EVAL_RECORD, CONFIGURE)
