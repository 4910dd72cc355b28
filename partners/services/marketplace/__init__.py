"""MarketplaceService: listings and their review, media, discovery, installations, reviews,
trending and analytics. One module per concern; views and tasks call these functions."""
