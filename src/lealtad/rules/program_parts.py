"""What every part of a program definition is built from: the ids (slugs) and unit counts it
uses, models that are frozen and refuse unknown fields, names per language, and the writing
rules that keep stored program versions byte for byte what they were when parts gain fields.
Apart from definition.py so that the earn rule (earn_rule.py) and the program's other parts
share them without importing each other."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
Rate = Annotated[Decimal, Field(ge=0, le=100_000, max_digits=14, decimal_places=6)]
Units = Annotated[int, Field(ge=1, le=10**9)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Compact(Strict):
    """A part given fields after programs were stored: each such field is left out of the JSON
    while it holds its default, so stored versions, the change log and API answers of programs
    that do not use it stay byte for byte what they were."""

    LEFT_OUT_AT_DEFAULT: ClassVar[dict[str, object]] = {}

    # Unannotated on purpose, as Titled's: an annotated one would lose the model's JSON schema.
    @model_serializer(mode="wrap")
    def _without_new_defaults(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data = handler(self)
        if isinstance(data, dict):
            for name, default in self.LEFT_OUT_AT_DEFAULT.items():
                if name in data and data[name] == default:
                    del data[name]
        return data


class Titles(Strict):
    """A program thing's name as members read it, per language. Either may be left empty: the
    name is then the thing's `name`, which the business wrote in its own language."""

    es: str = Field(default="", max_length=200)
    en: str = Field(default="", max_length=200)


class Titled(Strict):
    """A rule, card or tier: without titles it is written as it was before titles existed, so
    stored versions, the change log and API answers of programs without them stay the same."""

    # Unannotated on purpose: an annotated wrap serializer would lose the model's JSON schema.
    @model_serializer(mode="wrap")
    def _without_empty_titles(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data = handler(self)
        if isinstance(data, dict):
            if data.get("title") is None:
                data.pop("title", None)
            if data.get("perk_titles") == []:
                data.pop("perk_titles", None)
        return data
