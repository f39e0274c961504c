"""The claim names and values of LTI 1.3 Core and Deep Linking 2.0 that the tool reads or
writes (1EdTech's specifications)."""

from __future__ import annotations

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"

VERSION = LTI + "version"
MESSAGE_TYPE = LTI + "message_type"
DEPLOYMENT_ID = LTI + "deployment_id"
TARGET_LINK_URI = LTI + "target_link_uri"
RESOURCE_LINK = LTI + "resource_link"
CONTEXT = LTI + "context"
ROLES = LTI + "roles"
CUSTOM = LTI + "custom"
DEEP_LINKING_SETTINGS = DL + "deep_linking_settings"
CONTENT_ITEMS = DL + "content_items"
DL_DATA = DL + "data"
DL_MESSAGE = DL + "msg"

LTI_VERSION = "1.3.0"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
MESSAGE_TYPES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)

# Roles that see the course's insights: the context roles of LTI 1.3 (full URIs), and the
# short forms some platforms send.
_INSTRUCTOR_ROLES = ("Instructor", "ContentDeveloper", "Administrator", "TeachingAssistant")
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTRUCTOR_ROLES = frozenset(
    [MEMBERSHIP + role for role in _INSTRUCTOR_ROLES]
    + [MEMBERSHIP + "Instructor#TeachingAssistant"]
    + list(_INSTRUCTOR_ROLES)
)


def is_instructor(roles: object) -> bool:
    """True when one of the roles teaches the course (instructor, TA, content developer or a
    course administrator); institution-wide roles alone do not count: they say nothing of
    this course."""
    return isinstance(roles, list) and any(role in INSTRUCTOR_ROLES for role in roles)
