"""The survey API: managers write and change surveys, integrators answer for members, results
on read; every refusal is a 4xx in the error envelope."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from lealtad.comms.dispatch import dispatch
from lealtad.comms.tables import webhook_deliveries
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.api.test_bad_input import FUZZ, assert_error, json_values
from tests.support import Shop
from tests.surveys.conftest import BONUS, GOOD, QUESTIONS, survey_body

SURVEYS = "/api/v1/surveys"


def create(client: TestClient, shop: Shop, **overrides: Any) -> dict[str, Any]:
    resp = client.post(SURVEYS, json=survey_body(**overrides), headers=shop.auth())
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def test_a_manager_writes_a_survey_that_anyone_with_a_key_can_read_but_staff_cannot_write(
    client: TestClient, shop: Shop
) -> None:
    refused = client.post(SURVEYS, json=survey_body(), headers=shop.auth("staff"))
    assert_error(refused, 403, "role_required")
    made = create(client, shop, status="draft", in_wallet=False)
    assert (made["status"], made["availability"], made["responses"]) == ("draft", "draft", 0)
    assert [q["id"] for q in made["questions"]] == [q["id"] for q in QUESTIONS]
    assert made["questions"][0]["required"] is True
    listed = client.get(SURVEYS, headers=shop.auth("staff")).json()
    assert [s["id"] for s in listed] == [made["id"]]
    one = client.get(f"{SURVEYS}/{made['id']}", headers=shop.auth("staff")).json()
    assert one == made


def test_a_manager_opens_a_survey_fixes_its_texts_and_offers_it_in_the_wallet(
    client: TestClient, shop: Shop
) -> None:
    made = create(client, shop, status="draft", in_wallet=False)
    url = f"{SURVEYS}/{made['id']}"
    fixed = [dict(q) for q in made["questions"]]
    fixed[1] = fixed[1] | {"text": {"es": "El café de hoy", "en": "Today's coffee"}}
    assert_error(client.patch(url, json={"status": "open"}, headers=shop.auth("staff")), 403)
    resp = client.patch(
        url,
        json={"status": "open", "in_wallet": True, "title": {"es": "Hola", "en": "Hi"}},
        headers=shop.auth(),
    )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["availability"], resp.json()["in_wallet"]) == ("open", True)
    answered = client.post(
        f"{url}/responses",
        json={"member_id": shop.members[0], "answers": GOOD},
        headers=shop.auth(),
    )
    assert answered.status_code == 201, answered.text
    # Once answered, texts may change but the questions may not.
    resp = client.patch(url, json={"questions": fixed}, headers=shop.auth())
    assert resp.status_code == 200, resp.text
    assert resp.json()["questions"][1]["text"]["en"] == "Today's coffee"
    assert_error(
        client.patch(url, json={"questions": fixed[:2]}, headers=shop.auth()),
        409,
        "survey_has_responses",
    )
    assert_error(
        client.patch(url, json={"status": "draft"}, headers=shop.auth()),
        409,
        "survey_has_responses",
    )


def test_an_integrator_answers_for_a_member_once_and_the_results_follow(
    client: TestClient, shop: Shop
) -> None:
    survey = create(client, shop)
    url = f"{SURVEYS}/{survey['id']}/responses"
    body = {"member_id": shop.members[0], "answers": GOOD}
    resp = client.post(url, json=body, headers=shop.auth("staff"))
    assert resp.status_code == 201, resp.text
    answer = resp.json()
    assert (answer["channel"], answer["balances"]["points"]) == ("api", BONUS)
    assert [(a["rule_id"], a["amount"]) for a in answer["awards"]] == [("survey", BONUS)]
    assert_error(client.post(url, json=body, headers=shop.auth()), 409, "survey_already_answered")
    member = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    assert member["balances"]["points"] == BONUS
    results = client.get(f"{SURVEYS}/{survey['id']}/results", headers=shop.auth("staff")).json()
    assert results["responses"] == 1
    assert results["nps"] == {
        "question_id": "recommend",
        "answered": 1,
        "promoters": 1,
        "passives": 0,
        "detractors": 0,
        "score": 100.0,
        "distribution": [0] * 9 + [1, 0],
    }
    assert results["questions"][3]["comments"][0]["text"] == GOOD["comment"]
    assert client.get(SURVEYS, headers=shop.auth()).json()[0]["responses"] == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"member_id": 1}, 422, "invalid_request"),
        ({"answers": GOOD}, 422, "invalid_request"),
        ({"member_id": 0, "answers": GOOD}, 422, "invalid_request"),
        ({"member_id": 2**70, "answers": GOOD}, 422, "invalid_request"),
        ({"member_id": 1, "answers": []}, 422, "invalid_request"),
        ({"member_id": 1, "answers": {"coffee": 4.5}}, 422, "invalid_request"),
        ({"member_id": 1, "answers": {"coffee": True}}, 422, "invalid_request"),
        ({"member_id": 1, "answers": {f"q{i}": 1 for i in range(21)}}, 422, "invalid_request"),
        ({"member_id": 2**62, "answers": GOOD}, 404, "member_not_found"),
        ({"member_id": "MEMBER", "answers": {**GOOD, "coffee": 6}}, 422, "survey_answer_invalid"),
        ({"member_id": "MEMBER", "answers": {**GOOD, "x": 1}}, 422, "survey_answer_invalid"),
        ({"member_id": "MEMBER", "answers": {"coffee": 3}}, 422, "survey_answer_invalid"),
    ],
)
def test_a_bad_answer_is_a_4xx_naming_what_is_wrong(
    client: TestClient, shop: Shop, body: dict[str, Any], status: int, code: str
) -> None:
    survey = create(client, shop)
    if body.get("member_id") == "MEMBER":
        body = body | {"member_id": shop.members[0]}
    resp = client.post(f"{SURVEYS}/{survey['id']}/responses", json=body, headers=shop.auth())
    error = assert_error(resp, status, code)
    if code == "survey_answer_invalid":
        assert error["details"][0]["question"] in error["message"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (survey_body(questions=[]), "invalid_request"),
        (survey_body(questions=[*QUESTIONS, QUESTIONS[0] | {"id": "again"}]), "invalid_request"),
        (survey_body(status="paused"), "invalid_request"),
        (survey_body(title={"es": "Solo"}), "invalid_request"),
        (survey_body(name=""), "invalid_request"),
        (
            survey_body(opens_at="2026-04-01T00:00:00Z", closes_at="2026-03-01T00:00:00Z"),
            "survey_dates",
        ),
        (survey_body(opens_at="0001-01-01T00:00:00+01:00"), "date_out_of_range"),
        ([survey_body()], "invalid_request"),
    ],
)
def test_a_malformed_survey_is_a_422(client: TestClient, shop: Shop, body: Any, code: str) -> None:
    assert_error(client.post(SURVEYS, json=body, headers=shop.auth()), 422, code)


def test_unknown_surveys_and_bad_changes_are_refused(client: TestClient, shop: Shop) -> None:
    survey = create(client, shop)
    url = f"{SURVEYS}/{survey['id']}"
    for path in (f"{SURVEYS}/{2**62}", f"{SURVEYS}/{2**62}/results"):
        assert_error(client.get(path, headers=shop.auth()), 404, "survey_not_found")
    assert_error(client.get(f"{SURVEYS}/0", headers=shop.auth()), 422, "invalid_request")
    assert_error(client.get(f"{SURVEYS}/{2**70}", headers=shop.auth()), 422, "invalid_request")
    for bad in ({"name": None}, {"status": None}, {"in_wallet": "sometimes"}, {"colour": "red"}):
        assert_error(client.patch(url, json=bad, headers=shop.auth()), 422, "invalid_request")
    early = {"closes_at": "2026-01-01T00:00:00Z", "opens_at": "2026-02-01T00:00:00Z"}
    assert_error(client.patch(url, json=early, headers=shop.auth()), 422, "survey_dates")
    # Clearing a date is allowed: null is "no date".
    resp = client.patch(url, json={"closes_at": None}, headers=shop.auth())
    assert resp.status_code == 200, resp.text


def test_answering_a_closed_survey_over_the_api_is_a_409(client: TestClient, shop: Shop) -> None:
    survey = create(client, shop, status="closed")
    body = {"member_id": shop.members[0], "answers": GOOD}
    resp = client.post(f"{SURVEYS}/{survey['id']}/responses", json=body, headers=shop.auth())
    assert assert_error(resp, 409, "survey_closed")["details"] == {"availability": "closed"}


answers_strategy = st.dictionaries(
    st.sampled_from([q["id"] for q in QUESTIONS] + ["other"]), json_values, max_size=5
)


@FUZZ
@given(answers=answers_strategy | json_values)
def test_no_answer_makes_a_5xx(client: TestClient, shop: Shop, answers: Any) -> None:
    survey = create(client, shop)
    body = {"member_id": shop.members[0], "answers": answers}
    resp = client.post(f"{SURVEYS}/{survey['id']}/responses", json=body, headers=shop.auth())
    assert resp.status_code < 500, (answers, resp.text)
    if resp.status_code >= 400:
        assert_error(resp, resp.status_code)


def test_a_nul_byte_in_a_text_is_a_422_on_both_databases(client: TestClient, shop: Shop) -> None:
    resp = client.post(SURVEYS, json=survey_body(name="a\x00b"), headers=shop.auth())
    assert_error(resp, 422, "invalid_request")
    survey = create(client, shop)
    body = {"member_id": shop.members[0], "answers": {**GOOD, "comment": "a\x00b"}}
    resp = client.post(f"{SURVEYS}/{survey['id']}/responses", json=body, headers=shop.auth())
    assert_error(resp, 422, "survey_answer_invalid")


def test_an_answer_reaches_a_webhook_subscribed_to_every_topic(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    hook = {"url": "http://127.0.0.1:9/hooks", "topics": ["*"]}
    assert client.post("/api/v1/webhooks", json=hook, headers=shop.auth("owner")).status_code == 201
    survey = create(client, shop)
    body = {"member_id": shop.members[0], "answers": GOOD}
    resp = client.post(f"{SURVEYS}/{survey['id']}/responses", json=body, headers=shop.auth())
    assert resp.status_code == 201, resp.text
    dispatch(db, clock.now(), business_id=shop.id)
    with db.read() as conn:
        sent = conn.execute(
            select(webhook_deliveries.c.topic, webhook_deliveries.c.payload).where(
                webhook_deliveries.c.business_id == shop.id,
                webhook_deliveries.c.topic == "survey.answered",
            )
        ).all()
    assert len(sent) == 1
    assert sent[0].payload["type"] == "survey.answered"
    assert sent[0].payload["data"]["survey_id"] == survey["id"]
    assert sent[0].payload["data"]["answers"] == GOOD
