#!/usr/bin/env python3
"""A real SMTP server for the end-to-end tests: aiosmtpd (from PyPI) with AUTH required
(PLAIN and LOGIN, checked against a JSON credentials file read at every login, so a test can
change the password under a connected channel), saving every message to a Maildir with the
envelope in X-MailFrom / X-RcptTo headers (aiosmtpd's Mailbox handler).

Usage: smtp_server.py --maildir DIR --credentials FILE [--port N]
Prints "PORT <n>" once listening; serves until killed or stdin closes.
"""
import argparse
import asyncio
import json
import logging
import sys
import warnings

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--credentials", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    # Plain-text AUTH is what these tests want (a loopback server); aiosmtpd warns about it.
    warnings.filterwarnings("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        with open(args.credentials, encoding="utf-8") as f:
            expected = json.load(f)
        ok = auth_data.login.decode() == expected["username"] and auth_data.password.decode() == expected["password"]
        return AuthResult(success=ok, handled=False)

    handler = Mailbox(args.maildir)

    def smtp():
        return SMTP(handler, hostname="mail.test", authenticator=authenticator, auth_required=True, auth_require_tls=False)

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(smtp, "127.0.0.1", args.port))
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    loop.run_until_complete(loop.run_in_executor(None, sys.stdin.read))
    server.close()


if __name__ == "__main__":
    main()
