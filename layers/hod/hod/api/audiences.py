"""Every audience's routes, in the order the app registers them and the OpenAPI document lists them."""

from __future__ import annotations

from hod.api import coverage as _coverage  # noqa: F401  (its routes are the administrators')
from hod.api.admin import administrators
from hod.api.agents import agents
from hod.api.consumers import consumers
from hod.api.links import links
from hod.api.public import public
from hod.api.routing import Audience
from hod.api.status import status

AUDIENCES: tuple[Audience, ...] = (public, consumers, status, agents, administrators, links)
