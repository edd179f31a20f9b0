"""Campaigns for segments: the RFM segments of the last refresh and experiment arms choose the
audience, as the rules engine and reward visibility see them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lealtad.analytics import experiments, segments
from lealtad.comms import campaigns
from lealtad.comms.tables import messages
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.tiers import store as tier_store
from tests.analytics.test_refresh import five_members
from tests.support import make_shop

TEXTS = {"es": "Te echamos de menos", "en": "We miss you"}


def campaign(**more: object) -> dict[str, object]:
    return {"name": "Come back", "subject": TEXTS, "body": TEXTS} | more


def reached(db: Database, campaign_id: int) -> set[int]:
    with db.read() as conn:
        rows = conn.execute(
            select(messages.c.member_id).where(messages.c.campaign_id == campaign_id)
        )
        return set(rows.scalars())


def release(db: Database, business_id: int, clock: FixedClock) -> int:
    with db.transaction() as conn:
        return campaigns.release_due(conn, business_id, clock.now())


def test_a_campaign_for_segments_reaches_only_the_members_in_them(
    db: Database, clock: FixedClock, client
) -> None:
    story = five_members(
        db, clock
    )  # A champion, B loyal, C promising, D cannot lose, E hibernating
    a, b, c, d, e, f = story.shop.members
    story.refresh()
    auth = story.shop.auth()
    made = client.post(
        "/api/v1/campaigns", json=campaign(segments=["cannot_lose", "hibernating"]), headers=auth
    )
    assert made.status_code == 201, made.text
    everyone = client.post("/api/v1/campaigns", json=campaign(), headers=auth).json()
    assert release(db, story.shop.id, clock) == 2 + 6
    assert reached(db, made.json()["id"]) == {d, e}
    assert reached(db, everyone["id"]) == {a, b, c, d, e, f}
    shown = client.get(f"/api/v1/campaigns/{made.json()['id']}", headers=auth).json()
    assert shown["segments"] == ["cannot_lose", "hibernating"]
    assert shown["body"] == TEXTS
    assert shown["recipients"] == 2


def test_segments_and_tags_both_narrow_the_audience(
    db: Database, clock: FixedClock, client
) -> None:
    story = five_members(db, clock)
    story.refresh()
    body = campaign(segments=["champions", "loyal"], tags=["nobody-has-this"])
    made = client.post("/api/v1/campaigns", json=body, headers=story.shop.auth()).json()
    assert release(db, story.shop.id, clock) == 0
    assert reached(db, made["id"]) == set()


def test_a_segment_campaign_before_any_refresh_reaches_no_one(
    db: Database, clock: FixedClock, client
) -> None:
    shop = make_shop(db, clock.now(), members_count=3)
    made = client.post("/api/v1/campaigns", json=campaign(segments=["lost"]), headers=shop.auth())
    assert release(db, shop.id, clock) == 0
    assert reached(db, made.json()["id"]) == set()


def test_unknown_segments_are_refused(db: Database, clock: FixedClock, client) -> None:
    shop = make_shop(db, clock.now(), members_count=0)
    for wrong in (["vip"], ["exp:Spring Sale:b"], ["exp:spring"], ["Champions"]):
        answer = client.post(
            "/api/v1/campaigns", json=campaign(segments=wrong), headers=shop.auth()
        )
        assert answer.status_code == 422, wrong


def test_an_experiment_arm_reaches_the_members_its_split_puts_there_while_it_runs(
    db: Database, clock: FixedClock, client
) -> None:
    shop = make_shop(db, clock.now(), members_count=12)
    body = experiments.ExperimentIn.model_validate(
        {"slug": "spring", "name": "Spring", "arms": [{"name": "control"}, {"name": "double"}]}
    )
    with db.transaction() as conn:
        experiment_id = experiments.create(conn, shop.id, body, clock.now())
        experiments.start(conn, shop.id, experiment_id, clock.now())
        arm_of = {
            m: segments.of_member(conn, shop.id, m, clock.now()) & {"exp:spring:double"}
            for m in shop.members
        }
    double = {m for m, found in arm_of.items() if found}
    assert 0 < len(double) < 12  # a split of twelve puts someone in each arm (fixed by the hash)
    auth = shop.auth()
    made = client.post(
        "/api/v1/campaigns", json=campaign(segments=["exp:spring:double"]), headers=auth
    ).json()
    release(db, shop.id, clock)
    assert reached(db, made["id"]) == double
    # Once the experiment stops, its arms are no segment any more.
    with db.transaction() as conn:
        experiments.stop(conn, shop.id, experiment_id, clock.now())
    clock.at += timedelta(minutes=1)
    later = client.post(
        "/api/v1/campaigns", json=campaign(segments=["exp:spring:double"]), headers=auth
    ).json()
    release(db, shop.id, clock)
    assert reached(db, later["id"]) == set()


def test_a_campaign_for_tiers_reaches_only_the_members_holding_them(
    db: Database, clock: FixedClock, client
) -> None:
    shop = make_shop(db, clock.now(), members_count=4)
    gold, silver, none_yet, no_row = shop.members
    with db.transaction() as conn:
        tier_store.save(conn, shop.id, gold, tier_id="gold")
        tier_store.save(conn, shop.id, silver, tier_id="silver")
        tier_store.save(conn, shop.id, none_yet, tier_id=None)
        assert (
            campaigns.audience_size(
                conn,
                shop.id,
                campaigns.CampaignIn.model_validate(campaign(tiers=["gold"])),
                clock.now(),
            )
            == 1
        )
    auth = shop.auth()
    only_gold = client.post("/api/v1/campaigns", json=campaign(tiers=["gold"]), headers=auth)
    both = client.post("/api/v1/campaigns", json=campaign(tiers=["gold", "silver"]), headers=auth)
    everyone = client.post("/api/v1/campaigns", json=campaign(), headers=auth)
    assert release(db, shop.id, clock) == 1 + 2 + 4
    assert reached(db, only_gold.json()["id"]) == {gold}
    assert reached(db, both.json()["id"]) == {gold, silver}
    assert reached(db, everyone.json()["id"]) == {gold, silver, none_yet, no_row}
