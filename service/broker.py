"""The embedded broker: kombu's filesystem transport, with messages written atomically.

kombu's filesystem transport writes a message file in place while a consumer may
already list the folder, move the file away and read it half-written: the message
is then lost (the consumer fails to decode it). A busy interactive lane, which looks
at the folder every 50 ms, loses one message in a burst of fifty that way. Here a
message is written under a name no consumer looks for and renamed into place, which
is atomic on one filesystem.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

SCHEME = "dragoman-filesystem"
URL = f"{SCHEME}://"


class Channel(filesystem.Channel):
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Put a message onto ``queue``: written aside, then renamed into the folder."""
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".part"  # consumers take only names ending in ".<queue>.msg"
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))  # type: ignore[no-untyped-call]
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    """Make ``dragoman-filesystem://`` name this transport (idempotent)."""
    TRANSPORT_ALIASES.setdefault(SCHEME, f"{__name__}:Transport")
