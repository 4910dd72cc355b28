from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection

from careos.crypto import blind_index, decrypt_str, encrypt_str
from careos.encryption_rotation import encrypted_models, read_batch, rotate_row
from rbac.models import User, phone_blind_index

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
PHONE = "+15551234567"

pytestmark = pytest.mark.django_db


def raw_columns(user: User, *columns: str) -> dict[str, str]:
    table = connection.ops.quote_name(User._meta.db_table)
    select = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM {table} WHERE id = %s", [user.pk])  # noqa: S608
        return dict(zip(columns, cursor.fetchone(), strict=True))


def make_user(username: str, **fields: str) -> User:
    return User.objects.create_user(username=username, password=None, **fields)


def test_round_trip_and_nothing_stored_in_plaintext():
    user = make_user("pat", phone=PHONE, email="pat@example.com", first_name="Pat")
    stored = raw_columns(user, "phone", "email", "first_name")
    assert PHONE not in stored["phone"]
    assert "pat@example.com" not in stored["email"]
    assert "Pat" not in stored["first_name"]
    assert decrypt_str(stored["phone"]) == PHONE
    reloaded = User.objects.get(pk=user.pk)
    assert (reloaded.phone, reloaded.email, reloaded.first_name) == (
        PHONE,
        "pat@example.com",
        "Pat",
    )


def test_each_encryption_is_randomised():
    assert encrypt_str(PHONE) != encrypt_str(PHONE)


def test_blind_index_finds_user_by_phone():
    user = make_user("pat", phone=PHONE)
    make_user("other", phone="+15559876543")
    assert list(User.objects.filter(phone_index=phone_blind_index(PHONE))) == [user]
    assert not User.objects.filter(phone_index=phone_blind_index("+15550000000")).exists()


def test_blind_index_is_keyed_and_separated_by_purpose(settings):
    first = blind_index(PHONE, purpose="user.phone")
    assert blind_index(PHONE, purpose="lead.phone") != first
    settings.BLIND_INDEX_KEY = "another-key"
    assert blind_index(PHONE, purpose="user.phone") != first


def test_encrypted_models_are_discovered():
    fields = dict(encrypted_models())[User]
    assert {"phone", "email", "first_name", "last_name", "date_of_birth"} <= set(fields)


def test_rotation_reencrypts_old_rows_under_the_newest_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    users = [
        make_user(f"u{i}", phone=f"+1555000000{i}", email=f"u{i}@example.com") for i in range(5)
    ]
    no_phi = make_user("blank")
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    fresh = make_user("fresh", phone="+15559999999")  # already under the new key
    fresh_token = raw_columns(fresh, "phone")["phone"]
    out = StringIO()

    call_command("rotate_encryption_keys", batch_size=2, stdout=out)

    output = out.getvalue()
    assert "rbac.User: 2 scanned, 2 rotated" in output  # progress per batch
    assert "rbac.User (" in output
    assert "7 scanned, 5 rotated, 0 changed concurrently" in output
    assert raw_columns(fresh, "phone")["phone"] == fresh_token  # untouched
    new_only = Fernet(NEW_KEY)
    for user in users:
        stored = raw_columns(user, "phone", "email")
        assert new_only.decrypt(stored["phone"].encode()).decode() == user.phone
        with pytest.raises(InvalidToken):
            Fernet(OLD_KEY).decrypt(stored["phone"].encode())
    assert raw_columns(no_phi, "phone")["phone"] == ""
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert [User.objects.get(pk=u.pk).email for u in users] == [u.email for u in users]
    assert User.objects.filter(phone_index=phone_blind_index("+15550000003")).get() == users[3]

    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)  # re-run: nothing left to do
    assert "7 scanned, 0 rotated" in out.getvalue()


def test_rotation_does_not_overwrite_a_concurrent_change(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    user = make_user("pat", phone=PHONE)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    batch = read_batch(User, ("phone",), after_pk=None, limit=10)
    [(pk, old_tokens)] = batch.stale
    user.phone = "+15550001111"
    user.save()  # someone edits the row between the rotation's read and its write

    assert rotate_row(User, pk=pk, old_tokens=old_tokens) is False
    assert User.objects.get(pk=user.pk).phone == "+15550001111"


def test_rotation_reports_rows_no_key_can_decrypt(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    user = make_user("pat", phone=PHONE)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(CommandError, match=f"rbac.User pks \\[{user.pk}\\]"):
        call_command("rotate_encryption_keys", stdout=StringIO())
