"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from app.audit.models import AuditEntry
from app.auth.models import ApiToken, IdempotencyKey, LoginFailure, User
from app.cases.models import Case, CaseEvent, CaseOwner, CaseTag
from app.db import Base
from app.delivery.models import Delivery, DeliveryAttempt, DepartmentEvent, Subscription
from app.feedback.models import CaseFeedback
from app.incidents.models import Incident, IncidentCase
from app.ingest.models import InboundDeadLetter, MentionEnrichment
from app.learning.models import RoutingModel
from app.mentions.stored import StoredMention
from app.replies.models import PlatformReply
from app.rules.models import RuleHit, RuleProcess, RuleReloadRequest
from app.sla.models import SlaTimer
from app.ui.models import UiSession

__all__ = ["ApiToken", "AuditEntry", "Base", "Case", "CaseEvent", "CaseFeedback", "CaseOwner", "CaseTag", "Delivery",
           "DeliveryAttempt", "DepartmentEvent", "IdempotencyKey", "InboundDeadLetter", "Incident", "IncidentCase",
           "LoginFailure", "MentionEnrichment", "PlatformReply", "RoutingModel", "RuleHit", "RuleProcess",
           "RuleReloadRequest", "SlaTimer", "StoredMention", "Subscription", "UiSession", "User"]
