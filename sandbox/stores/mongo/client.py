"""MongoDB client settings the sandbox chooses by name (write concerns), and who answered."""

from __future__ import annotations

from typing import Any

from pymongo.write_concern import WriteConcern

from sandbox.stores.contract import ServerInfo

WRITE_CONCERNS = {
    "default": None,
    "w1": WriteConcern(w=1),
    "w1j": WriteConcern(w=1, j=True),
    "majority": WriteConcern(w="majority"),
    "majorityj": WriteConcern(w="majority", j=True),
}


def server_info(build_info: dict[str, Any], concern: str) -> ServerInfo:
    """Who answered buildInfo: the stand-in reports a MongoDB version too; buildInfo.secantusVersion gives it away."""
    if "secantusVersion" in build_info:
        return ServerInfo("SecantusDB", str(build_info["secantusVersion"]),
                          f"MongoDB {build_info.get('version')} wire stand-in; {concern}")
    return ServerInfo("MongoDB", str(build_info.get("version")), concern)
