# The console is split by concern like the rest of the app; importing registers each part.
from partners.webhooks import admin as webhooks_admin  # noqa: F401
