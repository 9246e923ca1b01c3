#!/usr/bin/env python3
"""A local SMTP sink (127.0.0.1:25) and HTTP receiver (127.0.0.1:8080) for the system tests,
so that the README's alert examples deliver for real inside the test container.

    alert-sinks.py OUTDIR

Every message or request received is written whole to OUTDIR/smtp-N.txt or OUTDIR/http-N.txt
(the SMTP envelope, then the data; the HTTP request line, headers, then the body).
"""
import http.server
import itertools
import os
import socketserver
import sys
import threading

OUTDIR = sys.argv[1]
os.makedirs(OUTDIR, exist_ok=True)
COUNTER = itertools.count(1)


def save(kind, text):
    path = os.path.join(OUTDIR, f"{kind}-{next(COUNTER)}.txt")
    with open(path + ".part", "w") as out:
        out.write(text)
    os.rename(path + ".part", path)


class SMTPSink(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for curl and sendmail-like clients: accepts everything."""

    def reply(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        self.reply("220 localhost ESMTP test sink")
        envelope, data = [], None
        for raw in self.rfile:
            if data is not None:
                if raw in (b".\r\n", b".\n"):
                    save("smtp", "\n".join(envelope) + "\n\n" + b"".join(data).decode(errors="replace"))
                    envelope, data = [], None
                    self.reply("250 2.0.0 delivered to the test sink")
                else:
                    data.append(raw[1:] if raw.startswith(b"..") else raw)
                continue
            command = raw.decode(errors="replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 localhost")
            elif verb in ("MAIL", "RCPT"):
                envelope.append(command)
                self.reply("250 2.1.0 ok")
            elif verb == "DATA":
                data = []
                self.reply("354 end with <CRLF>.<CRLF>")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("250 ok")


class HTTPReceiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        save("http", f"{self.command} {self.path}\n{self.headers}\n" + body.decode(errors="replace"))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"received\n")

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


smtp = Server(("127.0.0.1", 25), SMTPSink)
threading.Thread(target=smtp.serve_forever, daemon=True).start()
http.server.ThreadingHTTPServer.allow_reuse_address = True
http.server.ThreadingHTTPServer(("127.0.0.1", 8080), HTTPReceiver).serve_forever()
