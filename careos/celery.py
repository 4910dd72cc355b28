import os

from celery import Celery

from careos import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careos.settings")
# filesystem:// (the embedded default) is careos.broker's transport: it makes its own folders.
broker.register()

app = Celery("careos")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
