from partners.models.applications import PartnerApplication
from partners.models.credentials import ApiKey, PartnerOAuthClient
from partners.models.partner import Partner
from partners.models.profile import PartnerAgreement, PartnerContact
from partners.models.usage import PartnerUsageDaily

__all__ = [
    "ApiKey",
    "Partner",
    "PartnerAgreement",
    "PartnerApplication",
    "PartnerContact",
    "PartnerOAuthClient",
    "PartnerUsageDaily",
]
