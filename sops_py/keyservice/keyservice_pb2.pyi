from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Key(_message.Message):
    __slots__ = ("kms_key", "pgp_key", "gcp_kms_key", "azure_keyvault_key", "vault_key", "age_key", "hckms_key")
    KMS_KEY_FIELD_NUMBER: _ClassVar[int]
    PGP_KEY_FIELD_NUMBER: _ClassVar[int]
    GCP_KMS_KEY_FIELD_NUMBER: _ClassVar[int]
    AZURE_KEYVAULT_KEY_FIELD_NUMBER: _ClassVar[int]
    VAULT_KEY_FIELD_NUMBER: _ClassVar[int]
    AGE_KEY_FIELD_NUMBER: _ClassVar[int]
    HCKMS_KEY_FIELD_NUMBER: _ClassVar[int]
    kms_key: KmsKey
    pgp_key: PgpKey
    gcp_kms_key: GcpKmsKey
    azure_keyvault_key: AzureKeyVaultKey
    vault_key: VaultKey
    age_key: AgeKey
    hckms_key: HckmsKey
    def __init__(self, kms_key: _Optional[_Union[KmsKey, _Mapping]] = ..., pgp_key: _Optional[_Union[PgpKey, _Mapping]] = ..., gcp_kms_key: _Optional[_Union[GcpKmsKey, _Mapping]] = ..., azure_keyvault_key: _Optional[_Union[AzureKeyVaultKey, _Mapping]] = ..., vault_key: _Optional[_Union[VaultKey, _Mapping]] = ..., age_key: _Optional[_Union[AgeKey, _Mapping]] = ..., hckms_key: _Optional[_Union[HckmsKey, _Mapping]] = ...) -> None: ...

class PgpKey(_message.Message):
    __slots__ = ("fingerprint",)
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    fingerprint: str
    def __init__(self, fingerprint: _Optional[str] = ...) -> None: ...

class KmsKey(_message.Message):
    __slots__ = ("arn", "role", "context", "aws_profile")
    class ContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ARN_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    AWS_PROFILE_FIELD_NUMBER: _ClassVar[int]
    arn: str
    role: str
    context: _containers.ScalarMap[str, str]
    aws_profile: str
    def __init__(self, arn: _Optional[str] = ..., role: _Optional[str] = ..., context: _Optional[_Mapping[str, str]] = ..., aws_profile: _Optional[str] = ...) -> None: ...

class GcpKmsKey(_message.Message):
    __slots__ = ("resource_id",)
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    def __init__(self, resource_id: _Optional[str] = ...) -> None: ...

class VaultKey(_message.Message):
    __slots__ = ("vault_address", "engine_path", "key_name")
    VAULT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ENGINE_PATH_FIELD_NUMBER: _ClassVar[int]
    KEY_NAME_FIELD_NUMBER: _ClassVar[int]
    vault_address: str
    engine_path: str
    key_name: str
    def __init__(self, vault_address: _Optional[str] = ..., engine_path: _Optional[str] = ..., key_name: _Optional[str] = ...) -> None: ...

class AzureKeyVaultKey(_message.Message):
    __slots__ = ("vault_url", "name", "version")
    VAULT_URL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    vault_url: str
    name: str
    version: str
    def __init__(self, vault_url: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class AgeKey(_message.Message):
    __slots__ = ("recipient",)
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    recipient: str
    def __init__(self, recipient: _Optional[str] = ...) -> None: ...

class HckmsKey(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class EncryptRequest(_message.Message):
    __slots__ = ("key", "plaintext")
    KEY_FIELD_NUMBER: _ClassVar[int]
    PLAINTEXT_FIELD_NUMBER: _ClassVar[int]
    key: Key
    plaintext: bytes
    def __init__(self, key: _Optional[_Union[Key, _Mapping]] = ..., plaintext: _Optional[bytes] = ...) -> None: ...

class EncryptResponse(_message.Message):
    __slots__ = ("ciphertext",)
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    ciphertext: bytes
    def __init__(self, ciphertext: _Optional[bytes] = ...) -> None: ...

class DecryptRequest(_message.Message):
    __slots__ = ("key", "ciphertext")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    key: Key
    ciphertext: bytes
    def __init__(self, key: _Optional[_Union[Key, _Mapping]] = ..., ciphertext: _Optional[bytes] = ...) -> None: ...

class DecryptResponse(_message.Message):
    __slots__ = ("plaintext",)
    PLAINTEXT_FIELD_NUMBER: _ClassVar[int]
    plaintext: bytes
    def __init__(self, plaintext: _Optional[bytes] = ...) -> None: ...
