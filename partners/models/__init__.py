from partners.models.credentials import ApiKey, PartnerOAuthClient
from partners.models.partner import Partner
from partners.models.usage import PartnerUsageDaily

__all__ = ["ApiKey", "Partner", "PartnerOAuthClient", "PartnerUsageDaily"]
