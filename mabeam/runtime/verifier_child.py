"""The helper process of :mod:`mabeam.runtime.ahead`: Ed25519 checks for a parent's event loop.

Run as a script (``python -I path/to/verifier_child.py``), so that it imports only the
standard library and libsodium's binding, not mabeam: it is ready in a few tens of
milliseconds and shares nothing with the parent but two pipes.

Input frames (stdin): ``<id u32><length u32>`` then ``length`` bytes: the signer's
32-byte public key, the 64-byte signature, the signed bytes. Output (stdout): ``READY``
once, then ``<id u32><valid u8>`` per frame, in order, written once per batch read.
End of input (the parent closed the pipe or died) ends the process; so does a frame
longer than :data:`MAX_FRAME` (the parent never sends one: a broken stream); without
libsodium's binding it ends before ``READY``, and the parent stops starting helpers.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys

HEADER = struct.Struct("<II")
RESULT = struct.Struct("<IB")
KEY_BYTES, SIGNATURE_BYTES = 32, 64
#: the longest frame the parent sends (it checks larger messages itself)
MAX_FRAME = (1 << 20) + KEY_BYTES + SIGNATURE_BYTES
READY = b"READY"


def _serve(read_fd: int, write_fd: int) -> None:
    try:
        from nacl.bindings import crypto_sign_open  # the same libsodium call the parent's check makes
    except ImportError:  # this interpreter cannot see the binding: ending unready tells the parent so
        return
    os.write(write_fd, READY)
    pending = b""
    while True:
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            return
        pending += chunk
        results = bytearray()
        at = 0
        while len(pending) - at >= HEADER.size:
            ident, length = HEADER.unpack_from(pending, at)
            if length > MAX_FRAME or length < KEY_BYTES + SIGNATURE_BYTES:
                return
            end = at + HEADER.size + length
            if end > len(pending):
                break
            body = pending[at + HEADER.size:end]
            key, signature = body[:KEY_BYTES], body[KEY_BYTES:KEY_BYTES + SIGNATURE_BYTES]
            try:
                crypto_sign_open(signature + body[KEY_BYTES + SIGNATURE_BYTES:], key)
                valid = 1
            except Exception:  # BadSignatureError, or a malformed key: invalid either way
                valid = 0
            results += RESULT.pack(ident, valid)
            at = end
        pending = pending[at:]
        if results:
            os.write(write_fd, results)


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):  # the parent went away: nothing to serve
        _serve(sys.stdin.fileno(), sys.stdout.fileno())
