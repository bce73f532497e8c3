"""Stand-in (tests only): see stand_in.py."""

from stand_in import StandIn


class DatabricksSqlOperator(StandIn):
    pass
