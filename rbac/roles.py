"""The system role templates: plain data, shared by the data migration and ``role_templates_sync``.

Permissions are ``"app_label.codename"``. Other apps add their own permissions to these templates
(and to the clinic roles cloned from them) with a data migration calling
``rbac.migration_helpers.grant_template_permissions``.
"""

from typing import TypedDict

PATIENT = "patient"
SPECIALIST = "specialist"
SUPPORT_AGENT = "support_agent"
SUPERVISOR = "supervisor"
CLINIC_ADMIN = "clinic_admin"
BILLING = "billing"
# Not a clinic role: the Django group of CareOS platform staff (``rbac.scoping.is_platform_staff``).
PLATFORM = "platform"


class RoleTemplate(TypedDict):
    slug: str
    name: str
    description: str
    permissions: list[str]


_CARE_TEAM = [
    "rbac.view_clinic",
    "rbac.view_membership",
    "rbac.view_user",
    "rbac.view_phi",
    "rbac.view_consentrecord",
    "rbac.add_consentrecord",
]

ROLE_TEMPLATES: list[RoleTemplate] = [
    {
        "slug": PATIENT,
        "name": "Patient",
        "description": "A patient of the clinic. Reads their own records (object-level rule).",
        "permissions": ["rbac.view_clinic"],
    },
    {
        "slug": SPECIALIST,
        "name": "Specialist",
        "description": "A care provider: reads the clinic's patients and records consent.",
        "permissions": [*_CARE_TEAM],
    },
    {
        "slug": SUPPORT_AGENT,
        "name": "Support agent",
        "description": "Answers patients: reads patients and records consent.",
        "permissions": [*_CARE_TEAM],
    },
    {
        "slug": SUPERVISOR,
        "name": "Supervisor",
        "description": "Leads the support team: also revokes consent and reads the audit log.",
        "permissions": [
            *_CARE_TEAM,
            "rbac.change_user",
            "rbac.change_consentrecord",
            "rbac.revoke_consent",
            "rbac.view_auditevent",
            "rbac.view_audit_log",
        ],
    },
    {
        "slug": CLINIC_ADMIN,
        "name": "Clinic admin",
        "description": "Runs the clinic: settings, roles, memberships, consent and audit log.",
        "permissions": [
            *_CARE_TEAM,
            "rbac.change_clinic",
            "rbac.add_user",
            "rbac.change_user",
            "rbac.view_role",
            "rbac.add_role",
            "rbac.change_role",
            "rbac.delete_role",
            "rbac.manage_roles",
            "rbac.add_membership",
            "rbac.change_membership",
            "rbac.delete_membership",
            "rbac.change_consentrecord",
            "rbac.revoke_consent",
            "rbac.view_auditevent",
            "rbac.view_audit_log",
        ],
    },
    {
        "slug": BILLING,
        "name": "Billing",
        "description": "Handles payments and invoices; sees who the patients are, not their PHI.",
        "permissions": ["rbac.view_clinic", "rbac.view_membership", "rbac.view_user"],
    },
]

TEMPLATE_SLUGS = [template["slug"] for template in ROLE_TEMPLATES]


def split_permission(permission: str) -> tuple[str, str]:
    """``"support.view_ticket"`` → ``("support", "view_ticket")``; ValueError if malformed."""
    app_label, sep, codename = permission.partition(".")
    if not sep or not app_label or not codename or "." in codename:
        raise ValueError(f"permission must be 'app_label.codename', got {permission!r}")
    return app_label, codename
