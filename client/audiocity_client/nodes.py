from typing import Literal, Optional

from pydantic import Field

from .base_model import BaseModel


class Nodes(BaseModel):
    nodes: list[Optional["NodesNodes"]]


class NodesNodes(BaseModel):
    typename__: Literal[
        "AudioFile",
        "Audiobook",
        "Cart",
        "Category",
        "Job",
        "Node",
        "Order",
        "Series",
        "User",
    ] = Field(alias="__typename")
    id: str


Nodes.model_rebuild()
