"""Governance: principals, roles, scopes and API keys; the access log and access reviews;
training records; ethics reviews of model versions; the whistleblower channel; dashboard
users and their sessions.

record_access(store, principal, scope=Scope.CONSENT_READ, route="/v1/…", purpose="support")
review_access(store, "key_01…", decision="approved", reviewer="Dr. Lena Hoffmann")
grant_status(store, policy=AccessPolicy.of(settings))        # due, overdue, unused keys
record_training(store, "alice@shop.example", "privacy_law", date(2026, 3, 1))
training_gaps(store, required=["privacy_law", "ethical_ai"])  # who lacks which course
review_model(store, "pricing", "4", decision="approved", reviewer="Ethics committee")
approve_model(store, "credit-logit", "3f2a…", reviewer="lena")  # human oversight (credit)
ConcernBox.of(ws).raise_concern("…")  -> RaisedConcern(id, token)   # anonymous, sealed
"""

from trustcart.governance.access import (
    ACCESS_LOG,
    ROLE_PURPOSES,
    AccessEntry,
    AccessLogCheck,
    access_entries,
    last_access,
    record_access,
    resolve_purpose,
    verify_access_log,
)
from trustcart.governance.concerns import (
    CATEGORIES,
    ConcernBox,
    ConcernSummary,
    ConcernThread,
    Message,
    RaisedConcern,
)
from trustcart.governance.ethics import (
    EthicsApprovalRequired,
    EthicsReview,
    ensure_ethics_approval,
    ethics_reviews,
    latest_review,
    review_model,
)
from trustcart.governance.keys import (
    KeyInfo,
    Principal,
    authenticate,
    create_key,
    list_keys,
    revoke_key,
)
from trustcart.governance.oversight import (
    OVERSIGHT_ROLES,
    HumanOversightRequired,
    OversightRecord,
    approve_model,
    ensure_oversight,
    latest_oversight,
    oversight_records,
)
from trustcart.governance.reviews import (
    AccessPolicy,
    GrantStatus,
    ReviewRecord,
    access_reviews,
    grant_status,
    review_access,
)
from trustcart.governance.roles import (
    ETHICS_ONLY,
    PERSONAL_DATA_SCOPES,
    ROLE_SCOPES,
    Role,
    Scope,
    parse_role,
    personal_scopes,
    scopes_for,
)
from trustcart.governance.sessions import (
    IDLE_TIMEOUT,
    MAX_AGE,
    SessionInfo,
    csrf_ok,
    csrf_token,
    end_session,
    session_of,
    start_session,
)
from trustcart.governance.training import (
    KNOWN_COURSES,
    Training,
    TrainingGap,
    record_training,
    training_gaps,
    training_records,
)
from trustcart.governance.users import (
    LOCKOUT,
    LOGIN_LOG,
    MAX_FAILED_LOGINS,
    MIN_PASSWORD,
    UserInfo,
    authenticate_password,
    check_password,
    create_user,
    disable_user,
    get_user,
    list_users,
    principal_of,
    set_password,
)

__all__ = [
    "ACCESS_LOG",
    "CATEGORIES",
    "ETHICS_ONLY",
    "IDLE_TIMEOUT",
    "KNOWN_COURSES",
    "LOCKOUT",
    "LOGIN_LOG",
    "MAX_AGE",
    "MAX_FAILED_LOGINS",
    "MIN_PASSWORD",
    "OVERSIGHT_ROLES",
    "PERSONAL_DATA_SCOPES",
    "ROLE_PURPOSES",
    "ROLE_SCOPES",
    "AccessEntry",
    "AccessLogCheck",
    "AccessPolicy",
    "ConcernBox",
    "ConcernSummary",
    "ConcernThread",
    "EthicsApprovalRequired",
    "EthicsReview",
    "GrantStatus",
    "HumanOversightRequired",
    "KeyInfo",
    "Message",
    "OversightRecord",
    "Principal",
    "RaisedConcern",
    "ReviewRecord",
    "Role",
    "Scope",
    "SessionInfo",
    "Training",
    "TrainingGap",
    "UserInfo",
    "access_entries",
    "access_reviews",
    "approve_model",
    "authenticate",
    "authenticate_password",
    "check_password",
    "create_key",
    "create_user",
    "csrf_ok",
    "csrf_token",
    "disable_user",
    "end_session",
    "ensure_ethics_approval",
    "ensure_oversight",
    "ethics_reviews",
    "get_user",
    "grant_status",
    "last_access",
    "latest_oversight",
    "latest_review",
    "list_keys",
    "list_users",
    "oversight_records",
    "parse_role",
    "personal_scopes",
    "principal_of",
    "record_access",
    "record_training",
    "resolve_purpose",
    "review_access",
    "review_model",
    "revoke_key",
    "scopes_for",
    "session_of",
    "set_password",
    "start_session",
    "training_gaps",
    "training_records",
    "verify_access_log",
]
