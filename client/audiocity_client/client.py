from collections.abc import AsyncIterator
from typing import Any, Optional, Union

from .add_to_cart import AddToCart
from .async_base_client import AsyncBaseClient
from .audiobook import Audiobook
from .audiobook_chapters import AudiobookChapters
from .audiobook_page import AudiobookPage
from .audiobook_with_metadata import AudiobookWithMetadata
from .audiobooks import Audiobooks
from .base_model import UNSET, UnsetType, Upload
from .cancel_upload import CancelUpload
from .cart import Cart
from .categories import Categories
from .change_password import ChangePassword
from .checkout import Checkout
from .clear_cart import ClearCart
from .complete_upload import CompleteUpload
from .create_audiobook import CreateAudiobook
from .create_category import CreateCategory
from .delete_audio_file import DeleteAudioFile
from .delete_audiobook import DeleteAudiobook
from .delete_category import DeleteCategory
from .download_stats import DownloadStats
from .enums import AudiobookSort, JobStatus, Role
from .exchange_sign_in_code import ExchangeSignInCode
from .grant_audiobook import GrantAudiobook
from .input_types import (
    AudiobookFilter,
    AudiobookInput,
    ChapterInput,
    CheckoutInput,
    CreateCategoryInput,
    RegisterInput,
    StartUploadInput,
    UpdateMeInput,
)
from .job import Job
from .job_updates import JobUpdates
from .jobs import Jobs
from .library import Library
from .login import Login
from .logout import Logout
from .logout_everywhere import LogoutEverywhere
from .me import Me
from .node import Node
from .nodes import Nodes
from .order import Order
from .order_updates import OrderUpdates
from .orders import Orders
from .publish_audiobook import PublishAudiobook
from .refresh_token import RefreshToken
from .refund_order import RefundOrder
from .register import Register
from .remove_from_cart import RemoveFromCart
from .rename_category import RenameCategory
from .reorder_audio_files import ReorderAudioFiles
from .request_password_reset import RequestPasswordReset
from .reset_password import ResetPassword
from .save_progress import SaveProgress
from .search_audiobooks import SearchAudiobooks
from .semantic_search import SemanticSearch
from .series_books import SeriesBooks
from .set_preview import SetPreview
from .set_user_role import SetUserRole
from .sign_in_with_google import SignInWithGoogle
from .similar_audiobooks import SimilarAudiobooks
from .start_transcription import StartTranscription
from .start_upload import StartUpload
from .update_audiobook import UpdateAudiobook
from .update_chapters import UpdateChapters
from .update_me import UpdateMe
from .upload_audio_file import UploadAudioFile
from .upload_cover import UploadCover


def gql(q: str) -> str:
    return q


class AudioCityClient(AsyncBaseClient):
    async def register(self, input: RegisterInput, **kwargs: Any) -> Register:
        query = gql("""
            mutation Register($input: RegisterInput!) {
              register(input: $input) {
                accessToken
                refreshToken
                user {
                  id
                  email
                  displayName
                  role
                  createdAt
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = await self.execute(
            query=query, operation_name="Register", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Register.model_validate(data)

    async def login(self, email: str, password: str, **kwargs: Any) -> Login:
        query = gql("""
            mutation Login($email: String!, $password: String!) {
              login(email: $email, password: $password) {
                accessToken
                refreshToken
                user {
                  id
                  email
                  displayName
                  role
                  createdAt
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"email": email, "password": password}
        response = await self.execute(
            query=query, operation_name="Login", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Login.model_validate(data)

    async def refresh_token(self, refresh_token: str, **kwargs: Any) -> RefreshToken:
        query = gql("""
            mutation RefreshToken($refreshToken: String!) {
              refreshToken(refreshToken: $refreshToken) {
                accessToken
                refreshToken
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"refreshToken": refresh_token}
        response = await self.execute(
            query=query, operation_name="RefreshToken", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return RefreshToken.model_validate(data)

    async def me(self, **kwargs: Any) -> Me:
        query = gql("""
            query Me {
              me {
                id
                email
                displayName
                role
                createdAt
              }
            }
            """)
        variables: dict[str, object] = {}
        response = await self.execute(
            query=query, operation_name="Me", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Me.model_validate(data)

    async def logout(self, refresh_token: str, **kwargs: Any) -> Logout:
        query = gql("""
            mutation Logout($refreshToken: String!) {
              logout(refreshToken: $refreshToken) {
                ok
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"refreshToken": refresh_token}
        response = await self.execute(
            query=query, operation_name="Logout", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Logout.model_validate(data)

    async def set_user_role(
        self, user_id: str, role: Role, **kwargs: Any
    ) -> SetUserRole:
        query = gql("""
            mutation SetUserRole($userId: ID!, $role: Role!) {
              setUserRole(userId: $userId, role: $role) {
                user {
                  id
                  email
                  role
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"userId": user_id, "role": role}
        response = await self.execute(
            query=query, operation_name="SetUserRole", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return SetUserRole.model_validate(data)

    async def node(self, id: str, **kwargs: Any) -> Node:
        query = gql("""
            query Node($id: ID!) {
              node(id: $id) {
                __typename
                id
                ... on Audiobook {
                  title
                }
                ... on User {
                  email
                }
                ... on Job {
                  jobStatus: status
                }
                ... on Order {
                  orderStatus: status
                }
                ... on Category {
                  name
                }
                ... on AudioFile {
                  fileName
                }
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query, operation_name="Node", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Node.model_validate(data)

    async def nodes(self, ids: list[str], **kwargs: Any) -> Nodes:
        query = gql("""
            query Nodes($ids: [ID!]!) {
              nodes(ids: $ids) {
                __typename
                id
              }
            }
            """)
        variables: dict[str, object] = {"ids": ids}
        response = await self.execute(
            query=query, operation_name="Nodes", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Nodes.model_validate(data)

    async def logout_everywhere(self, **kwargs: Any) -> LogoutEverywhere:
        query = gql("""
            mutation LogoutEverywhere {
              logoutEverywhere {
                ok
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {}
        response = await self.execute(
            query=query,
            operation_name="LogoutEverywhere",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return LogoutEverywhere.model_validate(data)

    async def update_me(self, input: UpdateMeInput, **kwargs: Any) -> UpdateMe:
        query = gql("""
            mutation UpdateMe($input: UpdateMeInput!) {
              updateMe(input: $input) {
                user {
                  id
                  email
                  displayName
                  role
                  signInMethods
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = await self.execute(
            query=query, operation_name="UpdateMe", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return UpdateMe.model_validate(data)

    async def request_password_reset(
        self, email: str, **kwargs: Any
    ) -> RequestPasswordReset:
        query = gql("""
            mutation RequestPasswordReset($email: String!) {
              requestPasswordReset(email: $email) {
                ok
                message
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"email": email}
        response = await self.execute(
            query=query,
            operation_name="RequestPasswordReset",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return RequestPasswordReset.model_validate(data)

    async def reset_password(
        self, token: str, new_password: str, **kwargs: Any
    ) -> ResetPassword:
        query = gql("""
            mutation ResetPassword($token: String!, $newPassword: String!) {
              resetPassword(token: $token, newPassword: $newPassword) {
                user {
                  id
                  email
                }
                accessToken
                refreshToken
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"token": token, "newPassword": new_password}
        response = await self.execute(
            query=query, operation_name="ResetPassword", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return ResetPassword.model_validate(data)

    async def change_password(
        self, current_password: str, new_password: str, **kwargs: Any
    ) -> ChangePassword:
        query = gql("""
            mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
              changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {
                user {
                  id
                  email
                }
                accessToken
                refreshToken
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {
            "currentPassword": current_password,
            "newPassword": new_password,
        }
        response = await self.execute(
            query=query, operation_name="ChangePassword", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return ChangePassword.model_validate(data)

    async def sign_in_with_google(
        self,
        id_token: str,
        nonce: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> SignInWithGoogle:
        query = gql("""
            mutation SignInWithGoogle($idToken: String!, $nonce: String) {
              signInWithGoogle(idToken: $idToken, nonce: $nonce) {
                user {
                  id
                  email
                }
                accessToken
                refreshToken
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"idToken": id_token, "nonce": nonce}
        response = await self.execute(
            query=query,
            operation_name="SignInWithGoogle",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return SignInWithGoogle.model_validate(data)

    async def exchange_sign_in_code(
        self, code: str, **kwargs: Any
    ) -> ExchangeSignInCode:
        query = gql("""
            mutation ExchangeSignInCode($code: String!) {
              exchangeSignInCode(code: $code) {
                user {
                  id
                  email
                }
                accessToken
                refreshToken
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"code": code}
        response = await self.execute(
            query=query,
            operation_name="ExchangeSignInCode",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return ExchangeSignInCode.model_validate(data)

    async def audiobooks(
        self,
        first: Union[Optional[int], UnsetType] = UNSET,
        after: Union[Optional[str], UnsetType] = UNSET,
        search: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> Audiobooks:
        query = gql("""
            query Audiobooks($first: Int, $after: String, $search: String) {
              audiobooks(first: $first, after: $after, search: $search) {
                totalCount
                pageInfo {
                  hasNextPage
                  endCursor
                }
                edges {
                  cursor
                  node {
                    ...AudiobookSummary
                  }
                }
              }
            }

            fragment AudiobookSummary on Audiobook {
              id
              title
              subtitle
              authors
              narrators
              tags
              summary
              language
              price {
                amountCents
                currency
              }
              coverUrl
              durationSeconds
              published
              transcriptStatus
              owned
              createdAt
            }
            """)
        variables: dict[str, object] = {
            "first": first,
            "after": after,
            "search": search,
        }
        response = await self.execute(
            query=query, operation_name="Audiobooks", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Audiobooks.model_validate(data)

    async def search_audiobooks(
        self,
        search: str,
        first: Union[Optional[int], UnsetType] = UNSET,
        after: Union[Optional[str], UnsetType] = UNSET,
        filter_: Union[Optional[AudiobookFilter], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> SearchAudiobooks:
        query = gql("""
            query SearchAudiobooks($search: String!, $first: Int, $after: String, $filter: AudiobookFilter) {
              audiobooks(search: $search, first: $first, after: $after, filter: $filter) {
                totalCount
                pageInfo {
                  hasNextPage
                  endCursor
                }
                edges {
                  cursor
                  node {
                    ...AudiobookSummary
                  }
                  matches {
                    field
                    snippet
                    startSeconds
                  }
                }
              }
            }

            fragment AudiobookSummary on Audiobook {
              id
              title
              subtitle
              authors
              narrators
              tags
              summary
              language
              price {
                amountCents
                currency
              }
              coverUrl
              durationSeconds
              published
              transcriptStatus
              owned
              createdAt
            }
            """)
        variables: dict[str, object] = {
            "search": search,
            "first": first,
            "after": after,
            "filter": filter_,
        }
        response = await self.execute(
            query=query,
            operation_name="SearchAudiobooks",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return SearchAudiobooks.model_validate(data)

    async def audiobook(self, id: str, **kwargs: Any) -> Audiobook:
        query = gql("""
            query Audiobook($id: ID!) {
              audiobook(id: $id) {
                ...AudiobookSummary
                description
                categories {
                  id
                  name
                  slug
                }
                files {
                  id
                  position
                  fileName
                  contentType
                  sizeBytes
                  durationSeconds
                }
              }
            }

            fragment AudiobookSummary on Audiobook {
              id
              title
              subtitle
              authors
              narrators
              tags
              summary
              language
              price {
                amountCents
                currency
              }
              coverUrl
              durationSeconds
              published
              transcriptStatus
              owned
              createdAt
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query, operation_name="Audiobook", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Audiobook.model_validate(data)

    async def create_audiobook(
        self, input: AudiobookInput, **kwargs: Any
    ) -> CreateAudiobook:
        query = gql("""
            mutation CreateAudiobook($input: AudiobookInput!) {
              createAudiobook(input: $input) {
                audiobook {
                  ...AudiobookSummary
                }
                errors {
                  code
                  field
                  message
                }
              }
            }

            fragment AudiobookSummary on Audiobook {
              id
              title
              subtitle
              authors
              narrators
              tags
              summary
              language
              price {
                amountCents
                currency
              }
              coverUrl
              durationSeconds
              published
              transcriptStatus
              owned
              createdAt
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = await self.execute(
            query=query, operation_name="CreateAudiobook", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return CreateAudiobook.model_validate(data)

    async def publish_audiobook(
        self, id: str, published: bool, **kwargs: Any
    ) -> PublishAudiobook:
        query = gql("""
            mutation PublishAudiobook($id: ID!, $published: Boolean!) {
              publishAudiobook(id: $id, published: $published) {
                audiobook {
                  ...AudiobookSummary
                }
                errors {
                  code
                  field
                  message
                }
              }
            }

            fragment AudiobookSummary on Audiobook {
              id
              title
              subtitle
              authors
              narrators
              tags
              summary
              language
              price {
                amountCents
                currency
              }
              coverUrl
              durationSeconds
              published
              transcriptStatus
              owned
              createdAt
            }
            """)
        variables: dict[str, object] = {"id": id, "published": published}
        response = await self.execute(
            query=query,
            operation_name="PublishAudiobook",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return PublishAudiobook.model_validate(data)

    async def upload_audio_file(
        self, audiobook_id: str, file: Upload, **kwargs: Any
    ) -> UploadAudioFile:
        query = gql("""
            mutation UploadAudioFile($audiobookId: ID!, $file: Upload!) {
              uploadAudioFile(audiobookId: $audiobookId, file: $file) {
                audioFile {
                  id
                  position
                  fileName
                  sizeBytes
                  durationSeconds
                }
                job {
                  id
                  status
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"audiobookId": audiobook_id, "file": file}
        response = await self.execute(
            query=query, operation_name="UploadAudioFile", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return UploadAudioFile.model_validate(data)

    async def audiobook_page(
        self,
        first: Union[Optional[int], UnsetType] = UNSET,
        after: Union[Optional[str], UnsetType] = UNSET,
        search: Union[Optional[str], UnsetType] = UNSET,
        filter_: Union[Optional[AudiobookFilter], UnsetType] = UNSET,
        sort: Union[Optional[AudiobookSort], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> AudiobookPage:
        query = gql("""
            query AudiobookPage($first: Int, $after: String, $search: String, $filter: AudiobookFilter, $sort: AudiobookSort) {
              audiobooks(
                first: $first
                after: $after
                search: $search
                filter: $filter
                sort: $sort
              ) {
                totalCount
                pageInfo {
                  hasNextPage
                  endCursor
                }
                edges {
                  cursor
                  node {
                    ...AudiobookSummary
                  }
                }
              }
            }

            fragment AudiobookSummary on Audiobook {
              id
              title
              subtitle
              authors
              narrators
              tags
              summary
              language
              price {
                amountCents
                currency
              }
              coverUrl
              durationSeconds
              published
              transcriptStatus
              owned
              createdAt
            }
            """)
        variables: dict[str, object] = {
            "first": first,
            "after": after,
            "search": search,
            "filter": filter_,
            "sort": sort,
        }
        response = await self.execute(
            query=query, operation_name="AudiobookPage", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return AudiobookPage.model_validate(data)

    async def categories(self, **kwargs: Any) -> Categories:
        query = gql("""
            query Categories {
              categories {
                id
                name
                slug
                audiobookCount
              }
            }
            """)
        variables: dict[str, object] = {}
        response = await self.execute(
            query=query, operation_name="Categories", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Categories.model_validate(data)

    async def update_audiobook(
        self, id: str, input: AudiobookInput, **kwargs: Any
    ) -> UpdateAudiobook:
        query = gql("""
            mutation UpdateAudiobook($id: ID!, $input: AudiobookInput!) {
              updateAudiobook(id: $id, input: $input) {
                audiobook {
                  ...AudiobookSummary
                }
                errors {
                  code
                  field
                  message
                }
              }
            }

            fragment AudiobookSummary on Audiobook {
              id
              title
              subtitle
              authors
              narrators
              tags
              summary
              language
              price {
                amountCents
                currency
              }
              coverUrl
              durationSeconds
              published
              transcriptStatus
              owned
              createdAt
            }
            """)
        variables: dict[str, object] = {"id": id, "input": input}
        response = await self.execute(
            query=query, operation_name="UpdateAudiobook", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return UpdateAudiobook.model_validate(data)

    async def delete_audiobook(self, id: str, **kwargs: Any) -> DeleteAudiobook:
        query = gql("""
            mutation DeleteAudiobook($id: ID!) {
              deleteAudiobook(id: $id) {
                deletedId
                softDeleted
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query, operation_name="DeleteAudiobook", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return DeleteAudiobook.model_validate(data)

    async def semantic_search(
        self,
        semantic: str,
        search: Union[Optional[str], UnsetType] = UNSET,
        first: Union[Optional[int], UnsetType] = UNSET,
        after: Union[Optional[str], UnsetType] = UNSET,
        filter_: Union[Optional[AudiobookFilter], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> SemanticSearch:
        query = gql("""
            query SemanticSearch($semantic: String!, $search: String, $first: Int, $after: String, $filter: AudiobookFilter) {
              audiobooks(
                semantic: $semantic
                search: $search
                first: $first
                after: $after
                filter: $filter
              ) {
                totalCount
                pageInfo {
                  hasNextPage
                  endCursor
                }
                edges {
                  cursor
                  node {
                    ...AudiobookSummary
                  }
                  matches {
                    field
                    snippet
                    startSeconds
                  }
                }
              }
            }

            fragment AudiobookSummary on Audiobook {
              id
              title
              subtitle
              authors
              narrators
              tags
              summary
              language
              price {
                amountCents
                currency
              }
              coverUrl
              durationSeconds
              published
              transcriptStatus
              owned
              createdAt
            }
            """)
        variables: dict[str, object] = {
            "semantic": semantic,
            "search": search,
            "first": first,
            "after": after,
            "filter": filter_,
        }
        response = await self.execute(
            query=query, operation_name="SemanticSearch", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return SemanticSearch.model_validate(data)

    async def similar_audiobooks(
        self, id: str, first: int, **kwargs: Any
    ) -> SimilarAudiobooks:
        query = gql("""
            query SimilarAudiobooks($id: ID!, $first: Int!) {
              audiobook(id: $id) {
                id
                similar(first: $first) {
                  ...AudiobookSummary
                }
              }
            }

            fragment AudiobookSummary on Audiobook {
              id
              title
              subtitle
              authors
              narrators
              tags
              summary
              language
              price {
                amountCents
                currency
              }
              coverUrl
              durationSeconds
              published
              transcriptStatus
              owned
              createdAt
            }
            """)
        variables: dict[str, object] = {"id": id, "first": first}
        response = await self.execute(
            query=query,
            operation_name="SimilarAudiobooks",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return SimilarAudiobooks.model_validate(data)

    async def audiobook_chapters(self, id: str, **kwargs: Any) -> AudiobookChapters:
        query = gql("""
            query AudiobookChapters($id: ID!) {
              audiobook(id: $id) {
                id
                durationSeconds
                chapters {
                  position
                  title
                  startSeconds
                  endSeconds
                  edited
                }
                preview {
                  url
                  startSeconds
                  durationSeconds
                  contentType
                }
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query,
            operation_name="AudiobookChapters",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return AudiobookChapters.model_validate(data)

    async def update_chapters(
        self, audiobook_id: str, chapters: list[ChapterInput], **kwargs: Any
    ) -> UpdateChapters:
        query = gql("""
            mutation UpdateChapters($audiobookId: ID!, $chapters: [ChapterInput!]!) {
              updateChapters(audiobookId: $audiobookId, chapters: $chapters) {
                audiobook {
                  id
                  chapters {
                    position
                    title
                    startSeconds
                    endSeconds
                    edited
                  }
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {
            "audiobookId": audiobook_id,
            "chapters": chapters,
        }
        response = await self.execute(
            query=query, operation_name="UpdateChapters", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return UpdateChapters.model_validate(data)

    async def set_preview(
        self,
        audiobook_id: str,
        start_seconds: Union[Optional[float], UnsetType] = UNSET,
        duration_seconds: Union[Optional[float], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> SetPreview:
        query = gql("""
            mutation SetPreview($audiobookId: ID!, $startSeconds: Float, $durationSeconds: Float) {
              setPreview(
                audiobookId: $audiobookId
                startSeconds: $startSeconds
                durationSeconds: $durationSeconds
              ) {
                audiobook {
                  id
                  preview {
                    url
                    startSeconds
                    durationSeconds
                    contentType
                  }
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {
            "audiobookId": audiobook_id,
            "startSeconds": start_seconds,
            "durationSeconds": duration_seconds,
        }
        response = await self.execute(
            query=query, operation_name="SetPreview", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return SetPreview.model_validate(data)

    async def add_to_cart(self, audiobook_id: str, **kwargs: Any) -> AddToCart:
        query = gql("""
            mutation AddToCart($audiobookId: ID!) {
              addToCart(audiobookId: $audiobookId) {
                cart {
                  id
                  totalQuantity
                  lines {
                    audiobook {
                      id
                      title
                    }
                    price {
                      amountCents
                      currency
                    }
                  }
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"audiobookId": audiobook_id}
        response = await self.execute(
            query=query, operation_name="AddToCart", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return AddToCart.model_validate(data)

    async def checkout(self, input: CheckoutInput, **kwargs: Any) -> Checkout:
        query = gql("""
            mutation Checkout($input: CheckoutInput!) {
              checkout(input: $input) {
                order {
                  id
                  status
                  total {
                    amountCents
                    currency
                  }
                  lines {
                    title
                    price {
                      amountCents
                      currency
                    }
                  }
                }
                payment {
                  provider
                  redirectUrl
                  clientSecret
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = await self.execute(
            query=query, operation_name="Checkout", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Checkout.model_validate(data)

    async def library(
        self,
        first: Union[Optional[int], UnsetType] = UNSET,
        after: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> Library:
        query = gql("""
            query Library($first: Int, $after: String) {
              library(first: $first, after: $after) {
                totalCount
                pageInfo {
                  hasNextPage
                  endCursor
                }
                edges {
                  node {
                    audiobook {
                      id
                      title
                    }
                    purchasedAt
                    downloads {
                      kind
                      fileName
                      url
                      expiresAt
                      sizeBytes
                      error {
                        code
                        message
                      }
                    }
                  }
                }
              }
            }
            """)
        variables: dict[str, object] = {"first": first, "after": after}
        response = await self.execute(
            query=query, operation_name="Library", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Library.model_validate(data)

    async def cart(self, **kwargs: Any) -> Cart:
        query = gql("""
            query Cart {
              cart {
                id
                totalQuantity
                isGuest
                lines {
                  audiobook {
                    id
                    title
                  }
                  price {
                    amountCents
                    currency
                  }
                }
                subtotal {
                  amountCents
                  currency
                }
              }
            }
            """)
        variables: dict[str, object] = {}
        response = await self.execute(
            query=query, operation_name="Cart", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Cart.model_validate(data)

    async def remove_from_cart(
        self, audiobook_id: str, **kwargs: Any
    ) -> RemoveFromCart:
        query = gql("""
            mutation RemoveFromCart($audiobookId: ID!) {
              removeFromCart(audiobookId: $audiobookId) {
                cart {
                  id
                  totalQuantity
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"audiobookId": audiobook_id}
        response = await self.execute(
            query=query, operation_name="RemoveFromCart", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return RemoveFromCart.model_validate(data)

    async def clear_cart(self, **kwargs: Any) -> ClearCart:
        query = gql("""
            mutation ClearCart {
              clearCart {
                cart {
                  id
                  totalQuantity
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {}
        response = await self.execute(
            query=query, operation_name="ClearCart", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return ClearCart.model_validate(data)

    async def orders(
        self,
        first: Union[Optional[int], UnsetType] = UNSET,
        after: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> Orders:
        query = gql("""
            query Orders($first: Int, $after: String) {
              orders(first: $first, after: $after) {
                totalCount
                pageInfo {
                  hasNextPage
                  endCursor
                }
                edges {
                  node {
                    ...OrderDetails
                  }
                }
              }
            }

            fragment OrderDetails on Order {
              id
              status
              provider
              total {
                amountCents
                currency
              }
              lines {
                title
                price {
                  amountCents
                  currency
                }
                audiobook {
                  id
                }
              }
              createdAt
              paidAt
              refundedAt
            }
            """)
        variables: dict[str, object] = {"first": first, "after": after}
        response = await self.execute(
            query=query, operation_name="Orders", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Orders.model_validate(data)

    async def order(self, id: str, **kwargs: Any) -> Order:
        query = gql("""
            query Order($id: ID!) {
              order(id: $id) {
                ...OrderDetails
              }
            }

            fragment OrderDetails on Order {
              id
              status
              provider
              total {
                amountCents
                currency
              }
              lines {
                title
                price {
                  amountCents
                  currency
                }
                audiobook {
                  id
                }
              }
              createdAt
              paidAt
              refundedAt
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query, operation_name="Order", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Order.model_validate(data)

    async def refund_order(self, order_id: str, **kwargs: Any) -> RefundOrder:
        query = gql("""
            mutation RefundOrder($orderId: ID!) {
              refundOrder(orderId: $orderId) {
                order {
                  ...OrderDetails
                }
                errors {
                  code
                  field
                  message
                }
              }
            }

            fragment OrderDetails on Order {
              id
              status
              provider
              total {
                amountCents
                currency
              }
              lines {
                title
                price {
                  amountCents
                  currency
                }
                audiobook {
                  id
                }
              }
              createdAt
              paidAt
              refundedAt
            }
            """)
        variables: dict[str, object] = {"orderId": order_id}
        response = await self.execute(
            query=query, operation_name="RefundOrder", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return RefundOrder.model_validate(data)

    async def order_updates(
        self, order_id: str, **kwargs: Any
    ) -> AsyncIterator[OrderUpdates]:
        query = gql("""
            subscription OrderUpdates($orderId: ID!) {
              orderUpdates(orderId: $orderId) {
                ...OrderDetails
              }
            }

            fragment OrderDetails on Order {
              id
              status
              provider
              total {
                amountCents
                currency
              }
              lines {
                title
                price {
                  amountCents
                  currency
                }
                audiobook {
                  id
                }
              }
              createdAt
              paidAt
              refundedAt
            }
            """)
        variables: dict[str, object] = {"orderId": order_id}
        async for data in self.execute_ws(
            query=query, operation_name="OrderUpdates", variables=variables, **kwargs
        ):
            yield OrderUpdates.model_validate(data)

    async def jobs(
        self,
        first: Union[Optional[int], UnsetType] = UNSET,
        after: Union[Optional[str], UnsetType] = UNSET,
        status: Union[Optional[JobStatus], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> Jobs:
        query = gql("""
            query Jobs($first: Int, $after: String, $status: JobStatus) {
              jobs(first: $first, after: $after, status: $status) {
                totalCount
                edges {
                  node {
                    id
                    status
                    stage
                    progress
                    error
                    attempts
                    createdAt
                    startedAt
                    finishedAt
                    retries {
                      what
                      error
                      at
                      waitedSeconds
                      attempt
                      rateLimited
                    }
                  }
                }
              }
            }
            """)
        variables: dict[str, object] = {
            "first": first,
            "after": after,
            "status": status,
        }
        response = await self.execute(
            query=query, operation_name="Jobs", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Jobs.model_validate(data)

    async def job_updates(
        self,
        job_id: Union[Optional[str], UnsetType] = UNSET,
        audiobook_id: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> AsyncIterator[JobUpdates]:
        query = gql("""
            subscription JobUpdates($jobId: ID, $audiobookId: ID) {
              jobUpdates(jobId: $jobId, audiobookId: $audiobookId) {
                status
                progress
                stage
                message
                sequence
                job {
                  id
                  error
                  attempts
                  retries {
                    what
                    error
                    at
                    waitedSeconds
                    attempt
                    rateLimited
                  }
                }
              }
            }
            """)
        variables: dict[str, object] = {"jobId": job_id, "audiobookId": audiobook_id}
        async for data in self.execute_ws(
            query=query, operation_name="JobUpdates", variables=variables, **kwargs
        ):
            yield JobUpdates.model_validate(data)

    async def job(self, id: str, **kwargs: Any) -> Job:
        query = gql("""
            query Job($id: ID!) {
              job(id: $id) {
                id
                kind
                status
                stage
                progress
                message
                error
                attempts
                chunksTotal
                chunksDone
                createdAt
                startedAt
                finishedAt
                audiobook {
                  id
                  title
                }
                resourceUsage {
                  transcription {
                    provider
                    model
                    requests
                    failedRequests
                    audioSeconds
                  }
                  summary {
                    provider
                    model
                    requests
                    promptTokens
                    completionTokens
                  }
                  timings {
                    stage
                    seconds
                  }
                }
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query, operation_name="Job", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Job.model_validate(data)

    async def start_transcription(
        self, audiobook_id: str, force: bool, **kwargs: Any
    ) -> StartTranscription:
        query = gql("""
            mutation StartTranscription($audiobookId: ID!, $force: Boolean! = false) {
              startTranscription(audiobookId: $audiobookId, force: $force) {
                job {
                  id
                  status
                  stage
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"audiobookId": audiobook_id, "force": force}
        response = await self.execute(
            query=query,
            operation_name="StartTranscription",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return StartTranscription.model_validate(data)

    async def save_progress(
        self, audiobook_id: str, position_seconds: float, **kwargs: Any
    ) -> SaveProgress:
        query = gql("""
            mutation SaveProgress($audiobookId: ID!, $positionSeconds: Float!) {
              saveProgress(audiobookId: $audiobookId, positionSeconds: $positionSeconds) {
                progress {
                  positionSeconds
                  durationSeconds
                  fileIndex
                  offsetSeconds
                  percent
                  finished
                  updatedAt
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {
            "audiobookId": audiobook_id,
            "positionSeconds": position_seconds,
        }
        response = await self.execute(
            query=query, operation_name="SaveProgress", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return SaveProgress.model_validate(data)

    async def grant_audiobook(
        self, user_id: str, audiobook_id: str, **kwargs: Any
    ) -> GrantAudiobook:
        query = gql("""
            mutation GrantAudiobook($userId: ID!, $audiobookId: ID!) {
              grantAudiobook(userId: $userId, audiobookId: $audiobookId) {
                audiobook {
                  id
                  title
                  owned
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"userId": user_id, "audiobookId": audiobook_id}
        response = await self.execute(
            query=query, operation_name="GrantAudiobook", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return GrantAudiobook.model_validate(data)

    async def download_stats(self, audiobook_id: str, **kwargs: Any) -> DownloadStats:
        query = gql("""
            query DownloadStats($audiobookId: ID!) {
              downloadStats(audiobookId: $audiobookId) {
                audiobook {
                  id
                }
                requestCount
                downloadCount
                uniqueUsers
                lastDownloadedAt
                byKind {
                  kind
                  downloadCount
                }
              }
            }
            """)
        variables: dict[str, object] = {"audiobookId": audiobook_id}
        response = await self.execute(
            query=query, operation_name="DownloadStats", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return DownloadStats.model_validate(data)

    async def audiobook_with_metadata(
        self, id: str, **kwargs: Any
    ) -> AudiobookWithMetadata:
        query = gql("""
            query AudiobookWithMetadata($id: ID!) {
              audiobook(id: $id) {
                ...AudiobookMetadata
                categories {
                  id
                  name
                  slug
                }
              }
            }

            fragment AudiobookMetadata on Audiobook {
              id
              title
              authors
              narrators
              series {
                id
                name
              }
              seriesPosition
              publishedYear
              publisher
              isbn
              coverUrl
              cover {
                url
                width
                height
                thumbnails {
                  url
                  width
                  height
                }
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query,
            operation_name="AudiobookWithMetadata",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return AudiobookWithMetadata.model_validate(data)

    async def series_books(self, id: str, **kwargs: Any) -> SeriesBooks:
        query = gql("""
            query SeriesBooks($id: ID!) {
              node(id: $id) {
                __typename
                ... on Series {
                  id
                  name
                  audiobooks {
                    ...AudiobookMetadata
                  }
                }
              }
            }

            fragment AudiobookMetadata on Audiobook {
              id
              title
              authors
              narrators
              series {
                id
                name
              }
              seriesPosition
              publishedYear
              publisher
              isbn
              coverUrl
              cover {
                url
                width
                height
                thumbnails {
                  url
                  width
                  height
                }
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query, operation_name="SeriesBooks", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return SeriesBooks.model_validate(data)

    async def upload_cover(
        self, audiobook_id: str, file: Upload, **kwargs: Any
    ) -> UploadCover:
        query = gql("""
            mutation UploadCover($audiobookId: ID!, $file: Upload!) {
              uploadCover(audiobookId: $audiobookId, file: $file) {
                audiobook {
                  ...AudiobookMetadata
                }
                errors {
                  code
                  field
                  message
                }
              }
            }

            fragment AudiobookMetadata on Audiobook {
              id
              title
              authors
              narrators
              series {
                id
                name
              }
              seriesPosition
              publishedYear
              publisher
              isbn
              coverUrl
              cover {
                url
                width
                height
                thumbnails {
                  url
                  width
                  height
                }
              }
            }
            """)
        variables: dict[str, object] = {"audiobookId": audiobook_id, "file": file}
        response = await self.execute(
            query=query, operation_name="UploadCover", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return UploadCover.model_validate(data)

    async def create_category(
        self, input: CreateCategoryInput, **kwargs: Any
    ) -> CreateCategory:
        query = gql("""
            mutation CreateCategory($input: CreateCategoryInput!) {
              createCategory(input: $input) {
                category {
                  id
                  name
                  slug
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = await self.execute(
            query=query, operation_name="CreateCategory", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return CreateCategory.model_validate(data)

    async def rename_category(
        self, id: str, name: str, **kwargs: Any
    ) -> RenameCategory:
        query = gql("""
            mutation RenameCategory($id: ID!, $name: String!) {
              renameCategory(id: $id, name: $name) {
                category {
                  id
                  name
                  slug
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"id": id, "name": name}
        response = await self.execute(
            query=query, operation_name="RenameCategory", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return RenameCategory.model_validate(data)

    async def delete_category(self, id: str, **kwargs: Any) -> DeleteCategory:
        query = gql("""
            mutation DeleteCategory($id: ID!) {
              deleteCategory(id: $id) {
                deletedId
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query, operation_name="DeleteCategory", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return DeleteCategory.model_validate(data)

    async def start_upload(self, input: StartUploadInput, **kwargs: Any) -> StartUpload:
        query = gql("""
            mutation StartUpload($input: StartUploadInput!) {
              startUpload(input: $input) {
                upload {
                  id
                  url
                  method
                  headers
                  expiresAt
                  sizeBytes
                  chunkSize
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = await self.execute(
            query=query, operation_name="StartUpload", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return StartUpload.model_validate(data)

    async def complete_upload(self, upload_id: str, **kwargs: Any) -> CompleteUpload:
        query = gql("""
            mutation CompleteUpload($uploadId: ID!) {
              completeUpload(uploadId: $uploadId) {
                audioFile {
                  id
                  position
                  fileName
                  contentType
                  sizeBytes
                  durationSeconds
                  codec
                }
                job {
                  id
                  status
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"uploadId": upload_id}
        response = await self.execute(
            query=query, operation_name="CompleteUpload", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return CompleteUpload.model_validate(data)

    async def cancel_upload(self, upload_id: str, **kwargs: Any) -> CancelUpload:
        query = gql("""
            mutation CancelUpload($uploadId: ID!) {
              cancelUpload(uploadId: $uploadId) {
                cancelled
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"uploadId": upload_id}
        response = await self.execute(
            query=query, operation_name="CancelUpload", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return CancelUpload.model_validate(data)

    async def reorder_audio_files(
        self, audiobook_id: str, file_ids: list[str], **kwargs: Any
    ) -> ReorderAudioFiles:
        query = gql("""
            mutation ReorderAudioFiles($audiobookId: ID!, $fileIds: [ID!]!) {
              reorderAudioFiles(audiobookId: $audiobookId, fileIds: $fileIds) {
                audiobook {
                  id
                  durationSeconds
                  files {
                    id
                    position
                    fileName
                    durationSeconds
                  }
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {
            "audiobookId": audiobook_id,
            "fileIds": file_ids,
        }
        response = await self.execute(
            query=query,
            operation_name="ReorderAudioFiles",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return ReorderAudioFiles.model_validate(data)

    async def delete_audio_file(self, id: str, **kwargs: Any) -> DeleteAudioFile:
        query = gql("""
            mutation DeleteAudioFile($id: ID!) {
              deleteAudioFile(id: $id) {
                audiobook {
                  id
                  durationSeconds
                  files {
                    id
                    position
                    fileName
                    durationSeconds
                  }
                }
                errors {
                  code
                  field
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query, operation_name="DeleteAudioFile", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return DeleteAudioFile.model_validate(data)
