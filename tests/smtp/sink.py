"""A real SMTP server for the mail tests (aiosmtpd): stores every accepted message as one file
in DIR (the envelope recipients first, as an X-Envelope-To line) and refuses, with 550, every
recipient whose local part starts with "refused".

    python3 tests/smtp/sink.py PORT DIR      prints "ready PORT" once it listens on 127.0.0.1:PORT

PORT 0 lets the system choose a free port; the line printed names the one it bound, so nothing
has to guess a free port and race another process for it. A sink stopped and started again
passes the port it printed.
"""

import asyncio
import pathlib
import socket
import sys
import time

from aiosmtpd.smtp import SMTP


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


async def serve(sock: socket.socket, handler: Sink) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="127.0.0.1"), sock=sock)
    print("ready %d" % sock.getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    port, directory = int(sys.argv[1]), pathlib.Path(sys.argv[2])
    directory.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A port given again after a stop may still have connections in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(100)
    asyncio.run(serve(sock, Sink(directory)))


if __name__ == "__main__":
    main()
