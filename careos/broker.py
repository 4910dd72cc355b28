"""The embedded default's Celery broker: kombu's filesystem transport, with two differences.

- A channel creates the folders it uses (``CELERY_BROKER_TRANSPORT_OPTIONS``, under
  ``VAR_DIR``) when it opens, so they exist wherever a task is sent or received (web, worker,
  beat) and importing the settings creates nothing.
- The filesystem has no host: kombu's default connection parameters name one, and kombu then
  warns "No hostname was supplied" for every connection a process opens.

``register()`` (called by careos.celery) makes ``filesystem://`` URLs use it: kombu finds the
transport of a URL's scheme in its alias table.
"""

from pathlib import Path
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, filesystem


class FilesystemChannel(filesystem.Channel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        folders = {self.data_folder_in, self.data_folder_out, str(self.control_folder)}
        if self.store_processed:
            folders.add(self.processed_folder)
        for folder in folders:
            Path(folder).mkdir(parents=True, exist_ok=True)


class FilesystemTransport(filesystem.Transport):
    Channel = FilesystemChannel

    @property
    def default_connection_params(self) -> dict[str, Any]:
        return {"port": self.default_port}


def register() -> None:
    TRANSPORT_ALIASES["filesystem"] = f"{__name__}:{FilesystemTransport.__name__}"
