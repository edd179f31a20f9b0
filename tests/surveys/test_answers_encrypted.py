"""Survey answers are personal data too (D28, migration 0015): a free-text answer is stored
encrypted, a raw copy of the table shows none of it, the results still read it, and the
migration encrypts the answers a database already holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.db.migrate import upgrade
from lealtad.kit.clock import FixedClock
from lealtad.security.crypto import new_key
from lealtad.security.fields import keys_for_settings
from lealtad.surveys import service
from lealtad.surveys import store as survey_store
from tests.conftest import SECRET
from tests.security.test_personal_data_keys import fresh_url  # noqa: F401  (a fixture)
from tests.support import Shop
from tests.surveys.conftest import GOOD, make_survey

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
WRITTEN = "Llamadme al 655 010 203, soy Rocío Ferrer"


def test_a_free_text_answer_is_stored_encrypted_and_the_results_still_read_it(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    survey_id = make_survey(db, shop, clock)
    with db.transaction() as conn:
        given = {**GOOD, "comment": WRITTEN}
        service.answer(conn, shop.id, survey_id, shop.members[0], given, "api", clock.now())
    with db.read() as conn:
        raw = (
            conn.execute(
                text("SELECT answers FROM survey_responses WHERE business_id = :b"), {"b": shop.id}
            )
            .scalars()
            .all()
        )
        results = service.results(conn, shop.id, survey_id)
    assert raw
    assert all(value.startswith("e1:") for value in raw)
    # Whole phrases: the ciphertext is base64, which may hold "655" by chance but no space or í.
    assert not any("655 010 203" in value or "Rocío" in value for value in raw)
    [comment] = [q for q in results.questions if q.id == "comment"]
    assert [c.text for c in comment.comments or []] == [WRITTEN]
    assert results.nps is not None


def test_migration_0015_encrypts_the_answers_already_there(
    fresh_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    key = new_key()
    settings = Settings(
        env="test", secret_key=SECRET, database_url=fresh_url, field_keys=key,
        data_dir=tmp_path / "data",
    )  # fmt: skip
    db = Database(fresh_url, keys=keys_for_settings(settings))
    upgrade(db, "0014")
    naive = NOW.replace(tzinfo=None)
    with db.transaction() as conn:
        conn.execute(
            text(
                "INSERT INTO businesses (id, slug, name, currency, timezone, locale, created_at,"
                " two_step_required) VALUES (1, 'old', 'Old', 'EUR', 'Europe/Madrid', 'es',"
                " :now, false)"
            ),
            {"now": naive},
        )
        conn.execute(
            text(
                "INSERT INTO members (id, business_id, card_number, card_version, locale, tags,"
                " consent, enrolment_channel, enrolled_at, status) VALUES (1, 1, '1234567897',"
                " 1, 'es', '[]', '{}', 'api', :now, 'active')"
            ),
            {"now": naive},
        )
        conn.execute(
            text(
                "INSERT INTO surveys (id, business_id, name, title, questions, status, in_wallet,"
                " created_by, created_at) VALUES (1, 1, 's', '{}', '[]', 'open', true, 't', :now)"
            ),
            {"now": naive},
        )
        conn.execute(
            text(
                "INSERT INTO survey_responses (business_id, survey_id, member_id, answers, nps,"
                " channel, created_at) VALUES (1, 1, 1, :answers, 9, 'link', :now)"
            ),
            {"answers": json.dumps({"comment": WRITTEN, "recommend": 9}), "now": naive},
        )
    upgrade(db)
    with db.read() as conn:
        raw = conn.execute(text("SELECT answers FROM survey_responses")).scalar_one()
        read = list(survey_store.answers_newest_first(conn, 1, 1))
    assert raw.startswith(f"e1:{key.split(':')[0]}:")
    assert "Rocío" not in raw
    assert [answers for _member, answers, _at in read] == [{"comment": WRITTEN, "recommend": 9}]
    db.dispose()
