"""Data links between the Ghost dashboards, keeping the time range, datasource and job."""

from __future__ import annotations

from typing import Final

from .constants import PATCHES_UID, SERVICE_UID
from .panels import Link

_KEEP: Final = "${__url_time_range}&${datasource:queryparam}&${job:queryparam}"

#: From a series carrying a ``service`` label to that service's dashboard.
TO_SERVICE: Final = Link(
    "Service details", f"/d/{SERVICE_UID}?{_KEEP}&var-service=${{__field.labels.service}}"
)

#: From a patch panel to the patches dashboard, with the daemons selected here.
TO_PATCHES: Final = Link("Patch details", f"/d/{PATCHES_UID}?{_KEEP}&${{daemon:queryparam}}")
