"""Pydantic field types of the shared grammar: durations and sizes in config files.

Every config schema (``ghost.yml``, ``web.yml``, ``remediate.yml``) types its durations and sizes
with these, so that a file reads them as :mod:`ghost_common.units` does: a duration is a string
such as ``15s`` or the number 0, a size a string such as ``1MiB`` or a whole number of bytes.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from ghost_common.units import MAX_SIZE, duration_value, size_value

#: Seconds, 0 or more (the grammar has no sign).
Duration = Annotated[float, BeforeValidator(duration_value)]
#: Seconds, more than zero.
PositiveDuration = Annotated[float, BeforeValidator(duration_value), Field(gt=0)]
#: Bytes, from 0 to 1TiB.
Size = Annotated[int, BeforeValidator(size_value), Field(ge=0, le=MAX_SIZE)]
