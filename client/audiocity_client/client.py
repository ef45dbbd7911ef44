from collections.abc import AsyncIterator
from typing import Any, Optional, Union

from .add_to_cart import AddToCart
from .async_base_client import AsyncBaseClient
from .audiobook import Audiobook
from .audiobooks import Audiobooks
from .base_model import UNSET, UnsetType, Upload
from .cancel_upload import CancelUpload
from .checkout import Checkout
from .complete_upload import CompleteUpload
from .create_audiobook import CreateAudiobook
from .delete_audio_file import DeleteAudioFile
from .enums import JobStatus
from .input_types import AudiobookInput, CheckoutInput, RegisterInput, StartUploadInput
from .job_updates import JobUpdates
from .jobs import Jobs
from .library import Library
from .login import Login
from .me import Me
from .nodes import Nodes
from .publish_audiobook import PublishAudiobook
from .refresh_token import RefreshToken
from .register import Register
from .reorder_audio_files import ReorderAudioFiles
from .start_upload import StartUpload
from .upload_audio_file import UploadAudioFile


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
