"""Whether data is a sops-encrypted file (``sops filestatus``), without any key.

A file is encrypted when its store finds sops metadata with a non-empty ``version`` and ``mac``.
Missing metadata means not encrypted; any other load error is raised, as sops' filestatus does.
Shared by the CLI's ``filestatus`` and the integrations that must judge files without keys.
"""

from __future__ import annotations

from ..errors import MetadataNotFound, SopsError

TYPE_CHECKING = False  # typing costs ~8 ms at start-up; mypy reads this block as always true
if TYPE_CHECKING:
    from ..stores import Store


class FileStatusError(SopsError):
    """The data could not be judged (sops: "cannot check file status: ...")."""


def is_encrypted(store: Store, data: bytes) -> bool:
    try:
        _, md = store.load_encrypted(data)
    except MetadataNotFound:
        return False
    except SopsError as e:
        raise FileStatusError(f"cannot check file status: cannot load encrypted file: {e}") from None
    return bool(md.version) and bool(md.mac)
