"""Recovering a data key from an age ``enc``, as sops' MasterKey.Decrypt, with its messages."""

from __future__ import annotations

from .. import KeyFailed, KeyNotApplicable
from .asciiarmor import _dearmor
from .base import _ERR_INCORRECT, _CopyError
from .discovery import Identities
from .encoding import _GoError, _utf8
from .format import _parse_header, _Reader


def _format_error(msg: str, err: str | None, errs: list[str], unused: list[str]) -> str:
    """sops' formatError."""
    load = f". Errors while loading age identities: {'; '.join(errs)}" if errs else ""
    tail = ""
    if unused:
        if len(unused) == 1:
            tail = f" '{unused[0]}'"
        elif len(unused) == 2:
            tail = f"s '{unused[0]}' and '{unused[1]}'"
        else:
            tail = "s '" + "', '".join(unused[:-1]) + f"', and '{unused[-1]}'"
        tail = f". Did not find keys in location{tail}."
    if err is not None:
        return f"{msg}: {err}{load}{tail}"
    return f"{msg}{load}{tail}"


def unwrap(enc: str, ids: Identities, recipient: str = "") -> bytes:
    """Recover the data key (or Shamir share) from an age ``enc``, as sops' MasterKey.Decrypt.

    ``recipient`` is the key's recipient from metadata (given to both key commands). Raises
    KeyNotApplicable when no identity was found or none matched, KeyFailed for any other failure;
    both carry sops' message, which sops prints in its exit-128 report.
    """
    loaded = ids.resolve(recipient)
    if not loaded.identities:
        raise KeyNotApplicable(_format_error("failed to load age identities", None, loaded.errors,
                                             loaded.unused))
    reader_msg = "failed to create reader for decrypting sops data key with age"
    data, armor_err = _dearmor(_utf8(enc))
    # age.Decrypt tries native identities (X25519, hybrid) first, the others in their order
    ordered = [i for i in loaded.identities if i.native] + [i for i in loaded.identities if not i.native]
    try:
        hdr = _parse_header(_Reader(data, armor_err))
        for ident in ordered:
            got = ident.unwrap(hdr, data, armor_err)
            if got is not None:
                return got
    except _CopyError as e:
        raise KeyFailed(str(e)) from None
    except _GoError as e:
        raise KeyFailed(_format_error(reader_msg, str(e), loaded.errors, loaded.unused)) from None
    if len(ordered) == 1:
        no_match = f"identity did not match any of the recipients: {_ERR_INCORRECT}"
    else:
        no_match = "no identity matched any of the recipients"
    raise KeyNotApplicable(_format_error(reader_msg, no_match, loaded.errors, loaded.unused))
