from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class SignInWithGoogle(BaseModel):
    sign_in_with_google: "SignInWithGoogleSignInWithGoogle" = Field(
        alias="signInWithGoogle"
    )


class SignInWithGoogleSignInWithGoogle(BaseModel):
    user: Optional["SignInWithGoogleSignInWithGoogleUser"]
    access_token: Optional[str] = Field(alias="accessToken")
    refresh_token: Optional[str] = Field(alias="refreshToken")
    errors: list["SignInWithGoogleSignInWithGoogleErrors"]


class SignInWithGoogleSignInWithGoogleUser(BaseModel):
    id: str
    email: str


class SignInWithGoogleSignInWithGoogleErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


SignInWithGoogle.model_rebuild()
SignInWithGoogleSignInWithGoogle.model_rebuild()
