"""A real SMTP server for the mail tests (aiosmtpd): stores every accepted message as one file
in DIR (the envelope recipients first, as an X-Envelope-To line) and refuses, with 550, every
recipient whose local part starts with "refused".

    python3 tests/smtp/sink.py PORT DIR      prints "ready" once it listens on 127.0.0.1:PORT
"""

import asyncio
import pathlib
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory: pathlib.Path):
        self.directory = directory

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].startswith("refused"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = "%d.eml" % time.time_ns()
        tmp = self.directory / (name + ".tmp")
        head = ("X-Envelope-To: %s\r\n" % ",".join(envelope.rcpt_tos)).encode()
        tmp.write_bytes(head + envelope.original_content)
        tmp.rename(self.directory / name)
        return "250 2.0.0 accepted"


def main() -> None:
    port, directory = int(sys.argv[1]), pathlib.Path(sys.argv[2])
    directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
