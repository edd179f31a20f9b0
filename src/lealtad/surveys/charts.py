"""Survey results as horizontal bar charts for the admin console, drawn as inline SVG by the
template: no JavaScript and no chart library, so the page works on a cheap tablet and prints.
Each bar carries its label, count and share as text, and a <title> for screen readers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from lealtad.surveys import model, service
from lealtad.surveys.schemas import NpsOut, QuestionResult

# Colours with at least 4.5:1 contrast on white, so the white count inside a bar stays legible.
BAND_COLOURS = {"detractor": "#b3261e", "passive": "#8a5a00", "promoter": "#1e6b34"}
PLAIN = "#5b3a29"
BAR_SPAN = 300  # the longest bar, in SVG units
ROW = 26  # the height of one bar's row


@dataclass(frozen=True)
class Bar:
    label: dict[str, str]
    count: int
    percent: int  # of the answers to the question, rounded
    width: float
    y: int
    colour: str
    band: str | None = None


@dataclass(frozen=True)
class Chart:
    id: str
    title: dict[str, str]
    answered: int
    bars: list[Bar]
    average: float | None = None

    @property
    def height(self) -> int:
        return ROW * len(self.bars) + 4


def _same(text: str) -> dict[str, str]:
    return {"es": text, "en": text}


def _bars(
    labels: list[dict[str, str]], counts: list[int], colours: list[str], bands: list[str | None]
) -> list[Bar]:
    total = sum(counts)
    longest = max(counts, default=0) or 1
    return [
        Bar(
            label=label,
            count=count,
            percent=round(100 * count / total) if total else 0,
            # A zero still shows a sliver, so an empty score reads as "none", not as missing.
            width=max(BAR_SPAN * count / longest, 1.0),
            y=i * ROW,
            colour=colour,
            band=band,
        )
        for i, (label, count, colour, band) in enumerate(
            zip(labels, counts, colours, bands, strict=True)
        )
    ]


def nps_chart(nps: NpsOut, title: dict[str, str]) -> Chart:
    bands: list[str | None] = [model.band(s) for s in model.NPS_RANGE]
    colours = [BAND_COLOURS[str(b)] for b in bands]
    labels = [_same(str(s)) for s in model.NPS_RANGE]
    return Chart(
        nps.question_id, title, nps.answered, _bars(labels, nps.distribution, colours, bands)
    )


def question_chart(result: QuestionResult) -> Chart | None:
    """A chart for a rating or choice question; None for text (shown as comments) and NPS
    (its own chart, coloured by band)."""
    if result.kind == "rating" and result.distribution is not None:
        labels = [_same(str(s)) for s in model.RATING_RANGE]
        counts = result.distribution
    elif result.kind == "choice" and result.options is not None:
        labels = [o.text for o in result.options]
        counts = [o.count for o in result.options]
    else:
        return None
    bars = _bars(labels, counts, [PLAIN] * len(counts), [None] * len(counts))
    return Chart(result.id, result.text, result.answered, bars, result.average)


def results_page_context(conn: Connection, business_id: int, survey_id: int) -> dict[str, Any]:
    """What survey_results.html shows: the survey, its NPS, a chart per rating and choice
    question, and the latest comments of each text question."""
    survey = service.get(conn, business_id, survey_id)
    results = service.results(conn, business_id, survey_id)
    by_id = {q["id"]: q for q in survey.questions}
    nps = None
    if results.nps is not None:
        nps = nps_chart(results.nps, by_id[results.nps.question_id]["text"])
    charts = [c for c in (question_chart(q) for q in results.questions) if c is not None]
    comments = [q for q in results.questions if q.kind == "text"]
    return {
        "survey": survey,
        "results": results,
        "nps": results.nps,
        "nps_chart": nps,
        "charts": charts,
        "text_questions": comments,
        "bar_span": BAR_SPAN,
        "band_colours": BAND_COLOURS,
    }
