"""What patient data a request showed, noted while the response is built.

Whatever puts a patient's data in a response notes it with ``phi_shown``: a model serializer
does it itself when its ``Meta`` declares ``phi_patient`` (``careos.api.serializers``), and the
console's admins when they declare it (``rbac.console``). ``rbac.middleware`` collects for each
request (``phi_collect``) and at its end writes ONE audit event naming every patient shown (a
list page is one event with all its patients), when the response succeeded. The kernel only
collects: it imports no app.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

SELF = "self"  # ``phi_patient = SELF``: the object is the patient (a user)


@dataclass
class PhiReads:
    """Patients (user pks) whose data the response holds, and the records shown."""

    patient_ids: dict[int, None] = field(default_factory=dict)  # ordered set
    target_type: str = ""
    target_refs: dict[str, None] = field(default_factory=dict)
    clinic_ids: dict[int, None] = field(default_factory=dict)
    via: str = ""

    def add(
        self, *, patient_id: int, target_type: str, target_ref: str, clinic_id: int | None
    ) -> None:
        self.patient_ids[patient_id] = None
        if target_ref:
            self.target_refs[target_ref] = None
        if clinic_id is not None:
            self.clinic_ids[clinic_id] = None
        self.target_type = self.target_type or target_type


_current: ContextVar[PhiReads | None] = ContextVar("careos_phi_reads", default=None)


@contextmanager
def phi_collect() -> Iterator[PhiReads]:
    """Collect what is shown while the block runs (a request: ``rbac.middleware``)."""
    reads = PhiReads()
    token = _current.set(reads)
    try:
        yield reads
    finally:
        _current.reset(token)


def _path_value(obj: Any, path: str) -> Any:
    for part in path.split("__") if path else ():
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


def patient_id_of(obj: Any, path: str) -> int | None:
    """The pk of the patient at ``path`` (``"patient"``, ``"booking__patient"``, ``SELF``) of
    ``obj``, read from the foreign key column so no patient row is loaded."""
    if path == SELF:
        return getattr(obj, "pk", None)
    *parents, last = path.split("__")
    holder = _path_value(obj, "__".join(parents))
    if holder is None:
        return None
    return getattr(holder, f"{last}_id", None)


def clinic_id_of(obj: Any, path: str | None) -> int | None:
    if not path:
        return None
    if path == "pk":
        return getattr(obj, "pk", None)
    *parents, last = path.split("__")
    holder = _path_value(obj, "__".join(parents))
    return getattr(holder, f"{last}_id", None) if holder is not None else None


def phi_shown(
    objects: Iterable[Any],
    *,
    patient_path: str,
    clinic_path: str | None = None,
    via: str,
) -> None:
    """Note that ``objects`` (rows whose patient is at ``patient_path``) were shown, when a
    request collects (outside one, e.g. in a task, nothing is noted)."""
    reads = _current.get()
    if reads is None:
        return
    reads.via = reads.via or via
    for obj in objects:
        patient_id = patient_id_of(obj, patient_path)
        if patient_id is None:
            continue
        reads.add(
            patient_id=patient_id,
            target_type=obj._meta.model_name if hasattr(obj, "_meta") else type(obj).__name__,
            target_ref=str(getattr(obj, "public_id", "") or getattr(obj, "pk", "") or ""),
            clinic_id=clinic_id_of(obj, clinic_path),
        )
