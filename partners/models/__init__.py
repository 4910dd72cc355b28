from partners.models.partner import Partner

__all__ = ["Partner"]
