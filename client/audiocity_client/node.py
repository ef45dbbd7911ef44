from typing import Annotated, Literal, Optional, Union

from pydantic import Field

from .base_model import BaseModel
from .enums import JobStatus, OrderStatus


class Node(BaseModel):
    node: Optional[
        Annotated[
            Union[
                "NodeNodeNode",
                "NodeNodeAudioFile",
                "NodeNodeAudiobook",
                "NodeNodeCategory",
                "NodeNodeJob",
                "NodeNodeOrder",
                "NodeNodeUser",
            ],
            Field(discriminator="typename__"),
        ]
    ]


class NodeNodeNode(BaseModel):
    typename__: Literal["Cart", "Node", "Series"] = Field(alias="__typename")
    id: str


class NodeNodeAudioFile(BaseModel):
    typename__: Literal["AudioFile"] = Field(alias="__typename")
    id: str
    file_name: str = Field(alias="fileName")


class NodeNodeAudiobook(BaseModel):
    typename__: Literal["Audiobook"] = Field(alias="__typename")
    id: str
    title: str


class NodeNodeCategory(BaseModel):
    typename__: Literal["Category"] = Field(alias="__typename")
    id: str
    name: str


class NodeNodeJob(BaseModel):
    typename__: Literal["Job"] = Field(alias="__typename")
    id: str
    job_status: JobStatus = Field(alias="jobStatus")


class NodeNodeOrder(BaseModel):
    typename__: Literal["Order"] = Field(alias="__typename")
    id: str
    order_status: OrderStatus = Field(alias="orderStatus")


class NodeNodeUser(BaseModel):
    typename__: Literal["User"] = Field(alias="__typename")
    id: str
    email: str


Node.model_rebuild()
