"""The catalog tells the truth: every type of ``GET /api/v1/event-types`` is published by some
code path, or marked ``planned`` (listed, not subscribable, not publishable); and every type
the code publishes is in the catalog. Publishers are read from the source
(``tests/partners/event_publishers.py``)."""

import textwrap
from pathlib import Path

import pytest

from partners.models import EventType, PlatformEvent
from partners.services.events import PlannedEventTypeError, publish_event
from tests.partners.event_publishers import scan

pytestmark = pytest.mark.django_db


def test_every_catalog_type_is_published_and_every_published_type_is_in_the_catalog():
    found = scan()
    assert found.unresolved == [], "publishers whose event type cannot be read from the source"
    catalog = dict(EventType.objects.values_list("name", "planned"))
    deprecated = set(EventType.objects.filter(deprecated=True).values_list("name", flat=True))
    published = set(found.published)

    missing = sorted(published - set(catalog))
    assert missing == [], f"published but not in the catalog: {missing}"
    planned = {name for name, is_planned in catalog.items() if is_planned}
    early = {name: sorted(found.published[name]) for name in published & planned}
    assert early == {}, f"published but still marked planned: {early}"
    unpublished = sorted(set(catalog) - planned - deprecated - published)
    assert unpublished == [], (
        f"in the catalog, published nowhere (mark them planned): {unpublished}"
    )
    # The planned ones are the features not built yet.
    assert planned == {
        "billing.usage_updated",
        "connection.created",
        "connection.disconnected",
        "connection.failed",
        "execution.failed",
        "execution.succeeded",
    }


def _write(root: Path, name: str, source: str) -> None:
    path = root / "fakeapp" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


def test_the_scan_reads_each_way_of_naming_a_published_type(tmp_path):
    _write(tmp_path, "__init__.py", "")
    _write(tmp_path, "names.py", 'SHARED = "shared.constant"\n')
    _write(
        tmp_path,
        "common.py",
        """
        def announce(*, event_type, owner):
            publish_event(event_type=event_type, owner=owner, payload={})

        def announce_positionally(kind, owner):
            announce(event_type=kind, owner=owner)
        """,
    )
    _write(
        tmp_path,
        "services.py",
        """
        from fakeapp.names import SHARED

        MAPPED = {"a": "mapped.one", "b": "mapped.two"}
        FALLBACK = "mapped.fallback"

        def literal():
            publish_event(event_type="nope.created", owner=None, payload={})

        def constant():
            publish_event(event_type=SHARED, owner=None, payload={})

        def mapped(key):
            publish_event(event_type=MAPPED[key], owner=None, payload={})

        def looked_up(key):
            kind = MAPPED.get(key, FALLBACK)
            publish_event(event_type=kind, owner=None, payload={})

        def unpacked(flag):
            kind, other = ("tuple.first", 1) if flag else ("x", 2)
            kind, other = "tuple.second", 3
            publish_event(event_type=kind, owner=None, payload={})

        def wrapped():
            announce(event_type="wrapped.keyword", owner=None)
            announce_positionally("wrapped.positional", None)

        def fetched():
            event_type_get(name="fetched.directly")

        def dynamic(entity):
            publish_event(event_type=f"{entity}.created", owner=None, payload={})
        """,
    )

    found = scan(root=tmp_path, apps=("fakeapp",))

    assert set(found.published) == {
        "nope.created",  # not in any catalog: the catalog test would name it
        "shared.constant",
        "mapped.one",
        "mapped.two",
        "mapped.fallback",
        "wrapped.keyword",
        "wrapped.positional",
        "fetched.directly",
    }
    assert found.published["nope.created"] == {"fakeapp.services:8"}
    # A conditional unpacking is not a shape the scan reads, and neither is an f-string: both
    # are reported, so the catalog test fails until the publisher names its types plainly.
    assert sorted(found.unresolved) == [
        "fakeapp.services:23: kind (bound at line 21)",
        "fakeapp.services:33: f'{entity}.created'",
    ]


def test_a_planned_type_is_not_published(partner):
    with pytest.raises(PlannedEventTypeError) as caught:
        publish_event(event_type="connection.created", owner=partner, payload={})
    assert caught.value.code == "event_type_planned"
    assert not PlatformEvent.objects.exists()
