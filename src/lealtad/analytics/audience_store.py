"""Analytics' member figures that other domains' queries choose members by: the RFM segment of
the last refresh, joined onto a query of members (comms' campaign audiences). Only analytics'
own tables, so it sits in analytics' core, below comms, whose e-mail analytics' reports use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select

from lealtad.analytics.tables import member_stats


def with_segment(query: Select[Any], member_id: ColumnElement[Any]) -> Select[Any]:
    """`query` with the segment of the member `member_id` names (None before any refresh)."""
    return query.add_columns(member_stats.c.segment).outerjoin(
        member_stats, member_stats.c.member_id == member_id
    )
