"""The kinds of change the audit log records, as `airlock audit --action` accepts them.

Apart from `audit` so that building the CLI's parser does not import SQLAlchemy."""

from __future__ import annotations

ADMIT = "model.admit"
REMOVE = "model.remove"
SUSPEND = "model.suspend"
REINSTATE = "model.reinstate"
KEY_CREATE = "key.create"
KEY_REVOKE = "key.revoke"
EVAL_RECORD = "eval.record"
# The console's requests (console/requests.py): asked for, then admitted or refused by a reviewer.
CONFIGURE = "model.configure"
VERIFY = "model.verify"  # `airlock models verify`: whether the source still holds the files
REQUEST_CREATE = "request.create"
REQUEST_ADMIT = "request.admit"
REQUEST_REFUSE = "request.refuse"
ACTIONS = (
    ADMIT,
    REMOVE,
    SUSPEND,
    REINSTATE,
    KEY_CREATE,
    KEY_REVOKE,
    EVAL_RECORD,
    CONFIGURE,
    VERIFY,
    REQUEST_CREATE,
    REQUEST_ADMIT,
    REQUEST_REFUSE,
)
