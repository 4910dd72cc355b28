from careos.celery import app as celery_app

# The release, as in pyproject.toml (a test keeps the two equal); shown to the outside world,
# e.g. in the User-Agent of webhook deliveries.
__version__ = "0.1.0"

__all__ = ["__version__", "celery_app"]
