"""Settings of ``bench/ingest.py``'s server: the project's, plus the floor's URLconf."""

from careos.settings import *  # noqa: F403

ROOT_URLCONF = "bench.ingest_floor"
