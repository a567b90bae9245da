#!/usr/bin/python3
"""
smtpsink.py: an SMTP server that stores nothing but who got a message,
for the tests that send 100,000 of them (test_nodes.py).  Postfix's
smtp-sink is not on the test machine and contrib/smtp-capture.py
(aiosmtpd, one file a message) costs more CPU a message than fanfared
spends making it; this one is one asyncio protocol, the standard
library only.

  smtpsink.py --listen HOST:PORT --log FILE

It prints "listening HOST:PORT" when ready and runs until SIGTERM.
EHLO offers PIPELINING and 8BITMIME; MAIL, RCPT, DATA, RSET, NOOP, QUIT
are answered 250/354/221, anything else 502.  A message counts once
its final dot arrived: then its 250 goes out and one line per envelope
recipient, "RCPT\\n", is appended to FILE (flushed every 50 ms and at
exit).  A connection that breaks before the dot leaves nothing, as a
real MTA would.
"""
import argparse
import asyncio
import signal
import sys

FLUSH_S = 0.05


class Sink(asyncio.Protocol):
    def __init__(self, log):
        self.log = log
        self.buf = b""
        self.data = None        # in DATA: bytes not yet known to be text
        self.rcpts = []
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, chunk):
        out = []
        self.buf += chunk
        while self.buf:
            if self.data is not None:
                # The end is CRLF "." CRLF; the DATA line's own CRLF
                # stands for the first CRLF of an empty message.
                self.data += self.buf
                self.buf = b""
                i = self.data.find(b"\r\n.\r\n")
                if i == -1:
                    self.data = self.data[-4:]
                    break
                self.buf = self.data[i + 5:]
                self.data = None
                for r in self.rcpts:
                    self.log.append(r)
                self.rcpts = []
                out.append(b"250 2.0.0 Ok: queued\r\n")
                continue
            i = self.buf.find(b"\r\n")
            if i == -1:
                break
            line, self.buf = self.buf[:i], self.buf[i + 2:]
            verb = line[:4].upper()
            if verb == b"EHLO":
                out.append(b"250-sink\r\n250-PIPELINING\r\n"
                           b"250-8BITMIME\r\n250 SIZE 52428800\r\n")
            elif verb == b"HELO":
                out.append(b"250 sink\r\n")
            elif verb == b"MAIL":
                self.rcpts = []
                out.append(b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                a, b = line.find(b"<"), line.find(b">")
                self.rcpts.append(line[a + 1:b].decode("utf-8", "replace")
                                  if -1 < a < b else "")
                out.append(b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                if self.rcpts:
                    self.data = b"\r\n"
                    out.append(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                else:
                    out.append(b"503 5.5.1 No valid recipients\r\n")
            elif verb in (b"RSET", b"NOOP"):
                self.rcpts = []
                out.append(b"250 2.0.0 Ok\r\n")
            elif verb == b"QUIT":
                out.append(b"221 2.0.0 Bye\r\n")
                self.transport.write(b"".join(out))
                self.transport.close()
                return
            else:
                out.append(b"502 5.5.2 Error: command not recognized\r\n")
        if out:
            self.transport.write(b"".join(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    host, _, port = args.listen.rpartition(":")
    loop = asyncio.new_event_loop()
    pending = []
    f = open(args.log, "a")

    def flush():
        if pending:
            f.write("".join(r + "\n" for r in pending))
            f.flush()
            del pending[:]
        loop.call_later(FLUSH_S, flush)

    server = loop.run_until_complete(loop.create_server(
        lambda: Sink(pending), host, int(port), reuse_address=True,
        backlog=128))
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    bound = server.sockets[0].getsockname()
    sys.stdout.write("listening %s:%d\n" % (bound[0], bound[1]))
    sys.stdout.flush()
    loop.call_later(FLUSH_S, flush)
    loop.run_forever()
    server.close()
    f.write("".join(r + "\n" for r in pending))
    f.close()


if __name__ == "__main__":
    main()
