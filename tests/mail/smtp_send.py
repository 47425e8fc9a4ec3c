#!/usr/bin/env python3
"""Delivers one message with Python's smtplib, as a mail server or mail client would.

Usage: smtp_send.py HOST PORT FROM TO [TO...] < message
Prints one JSON line: {"sent": true, "refused": {rcpt: [code, text]}} when the server took
it for some recipients, {"sent": false, "refused": {...}} when it refused every recipient,
{"sent": false, "code": N, "message": "..."} when it refused the message.
"""
import json
import smtplib
import sys


def text(value):
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def main():
    host, port, sender, *recipients = sys.argv[1:]
    message = sys.stdin.buffer.read()
    try:
        with smtplib.SMTP(host, int(port), timeout=60) as client:
            refused = client.sendmail(sender, recipients, message)
        result = {"sent": True, "refused": {r: [c, text(m)] for r, (c, m) in refused.items()}}
    except smtplib.SMTPRecipientsRefused as e:
        result = {"sent": False, "refused": {r: [c, text(m)] for r, (c, m) in e.recipients.items()}}
    except smtplib.SMTPResponseException as e:
        result = {"sent": False, "code": e.smtp_code, "message": text(e.smtp_error)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
