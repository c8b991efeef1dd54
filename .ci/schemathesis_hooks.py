"""Schemathesis hooks for `.ci/schemathesis.sh` (loaded through SCHEMATHESIS_HOOKS).

They do what any outside client that fuzzes an API with its own admin token has to do: keep the
fuzzer from locking itself out. Nothing here hides a response from the checks.
"""

import os

import schemathesis

USER_PATH = "/api/v1/users/{id}"
# The run's admin: its token authenticates every request of the run.
ADMIN_ID = int(os.environ["MASTHEAD_ST_ADMIN_ID"])
# No user has this id: a write aimed at the admin goes here instead and answers 404.
NOBODY = 2_147_483_647


def _targets_admin(case) -> bool:
    if case.operation.path != USER_PATH or case.method.upper() not in ("PATCH", "DELETE"):
        return False
    try:
        return int(case.path_parameters.get("id")) == ADMIN_ID
    except (TypeError, ValueError):
        return False


@schemathesis.hook
def filter_case(context, case):
    """PATCH or DELETE of the run's own admin would revoke the token every request carries (a new
    password or `disabled: true` revokes it, a new role or a deletion takes its rights), and every
    later request would answer 401/403. Those cases are not generated."""
    return not _targets_admin(case)


@schemathesis.hook
def before_call(context, case, kwargs):
    """The stateful phase fills path parameters from earlier responses (`GET /auth/me` gives the
    admin's id) after generation, past `filter_case`: aim such a call at a user that does not
    exist instead, so it still runs and is checked (404). The examples phase builds its cases
    from the document's examples, past `map_case`: apply that here too."""
    if _targets_admin(case):
        case.path_parameters["id"] = NOBODY
    _positive_only_rules(case)


COMMENTS_PATH = "/api/v1/articles/{slug}/comments"


@schemathesis.hook
def map_case(context, case):
    return _positive_only_rules(case)


def _positive_only_rules(case):
    """Schema-valid (positive) cases only; negative cases are left as generated.

    - List cursors are opaque tokens the server issued (keyset positions, base64url JSON): a
      string generated from the schema is well-formed but was never issued, and the answer is a
      400 naming `cursor`, by design. Positive cases leave `cursor` out; the stateful phase feeds
      real `next_cursor` values back.
    - A comment's `parent_id` must be an approved comment of the same article, which depends on
      stored data: a generated id is refused with 422 naming `parent_id` (SPEC). Positive cases
      post top-level comments, so everything else about the form is still checked.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)
    if (
        case.operation.path == COMMENTS_PATH
        and case.method.upper() == "POST"
        and isinstance(case.body, dict)
        and case.body.get("parent_id") is not None
    ):
        case.body["parent_id"] = None
    return case
