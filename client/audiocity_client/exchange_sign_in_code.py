from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class ExchangeSignInCode(BaseModel):
    exchange_sign_in_code: "ExchangeSignInCodeExchangeSignInCode" = Field(
        alias="exchangeSignInCode"
    )


class ExchangeSignInCodeExchangeSignInCode(BaseModel):
    user: Optional["ExchangeSignInCodeExchangeSignInCodeUser"]
    access_token: Optional[str] = Field(alias="accessToken")
    refresh_token: Optional[str] = Field(alias="refreshToken")
    errors: list["ExchangeSignInCodeExchangeSignInCodeErrors"]


class ExchangeSignInCodeExchangeSignInCodeUser(BaseModel):
    id: str
    email: str


class ExchangeSignInCodeExchangeSignInCodeErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


ExchangeSignInCode.model_rebuild()
ExchangeSignInCodeExchangeSignInCode.model_rebuild()
