"""Calls a synth-city axon with bittensor's own Dendrite, as the subnet's validator does.

Run by crates/miner/tests/it/bittensor_client.rs:
    python dendrite_forward.py PORT MINER_HOTKEY_SS58
Prints one JSON object: for "answer" (validator //Alice, in the metagraph) and "refused"
(//Charlie, not in it), what the dendrite made of the response.
"""

import asyncio
import json
import sys
from typing import Any, Optional

import pydantic
import bittensor
from bittensor.utils import networking
from bittensor.core.chain_data import AxonInfo
from bittensor_wallet import Keypair

# The dendrite asks public web services for its external IP at construction: no network here.
networking.get_external_ip = lambda: "203.0.113.7"


class SimulationInput(pydantic.BaseModel):
    """The subnet's `synth/simulation_input.py` fields."""

    asset: str = "BTC"
    start_time: str = "2026-05-14T14:06:00+00:00"
    time_increment: int = 300
    time_length: int = 86400
    num_simulations: int = 1


class Simulation(bittensor.Synapse):
    """The subnet's synapse: a prompt in, paths out."""

    simulation_input: SimulationInput
    simulation_output: Optional[Any] = None

    def deserialize(self):
        return self.simulation_output


async def call(uri: str, port: int, miner_hotkey: str) -> dict:
    dendrite = bittensor.Dendrite(wallet=Keypair.create_from_uri(uri))
    axon = AxonInfo(
        version=10000001,
        ip="127.0.0.1",
        port=port,
        ip_type=4,
        hotkey=miner_hotkey,
        coldkey=miner_hotkey,
    )
    synapse = Simulation(
        simulation_input=SimulationInput(
            asset="BTC",
            start_time="2026-05-14T14:06:00+00:00",
            time_increment=60,
            time_length=3600,
            num_simulations=100,
        )
    )
    [r] = await dendrite.forward([axon], synapse, timeout=30, deserialize=False)
    await dendrite.aclose_session()
    out = r.simulation_output
    return {
        "is_success": r.is_success,
        "is_failure": r.is_failure,
        "dendrite_status_code": r.dendrite.status_code,
        "axon_status_code": r.axon.status_code,
        "status_message": r.axon.status_message,
        "axon_process_time": r.axon.process_time,
        "dendrite_process_time": r.dendrite.process_time,
        "axon_version": r.axon.version,
        "axon_hotkey": r.axon.hotkey,
        "timeout": r.timeout,
        "start_unix": out[0] if out else None,
        "paths": len(out) - 2 if out else None,
        "points": len(out[2]) if out else None,
    }


async def main() -> None:
    port, miner = int(sys.argv[1]), sys.argv[2]
    answer = await call("//Alice", port, miner)
    refused = await call("//Charlie", port, miner)
    print(json.dumps({"answer": answer, "refused": refused}))


if __name__ == "__main__":
    asyncio.run(main())
