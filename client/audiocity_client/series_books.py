from typing import Annotated, Literal, Optional, Union

from pydantic import Field

from .base_model import BaseModel
from .fragments import AudiobookMetadata


class SeriesBooks(BaseModel):
    node: Optional[
        Annotated[
            Union["SeriesBooksNodeNode", "SeriesBooksNodeSeries"],
            Field(discriminator="typename__"),
        ]
    ]


class SeriesBooksNodeNode(BaseModel):
    typename__: Literal[
        "AudioFile", "Audiobook", "Cart", "Category", "Job", "Node", "Order", "User"
    ] = Field(alias="__typename")


class SeriesBooksNodeSeries(BaseModel):
    typename__: Literal["Series"] = Field(alias="__typename")
    id: str
    name: str
    audiobooks: list["SeriesBooksNodeSeriesAudiobooks"]


SeriesBooksNodeSeriesAudiobooks = AudiobookMetadata
SeriesBooks.model_rebuild()
SeriesBooksNodeSeries.model_rebuild()
