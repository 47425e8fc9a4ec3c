"""Verifies recorded event webhook deliveries with the Standard Webhooks reference library, as
a receiver would: python verify_webhooks.py FILE SECRET... (each delivery must verify with at
least one secret). FILE is a JSON list of {"headers": {...}, "body": "..."}. Prints how many
verified; exits 1 naming the first that did not."""
import json
import sys

from standardwebhooks.webhooks import Webhook

deliveries = json.load(open(sys.argv[1]))
verifiers = [Webhook(secret) for secret in sys.argv[2:]]
for number, delivery in enumerate(deliveries):
    errors = []
    for verifier in verifiers:
        try:
            verifier.verify(delivery["body"], delivery["headers"])
            break
        except Exception as error:  # the library's WebhookVerificationError, or a bad header
            errors.append(repr(error))
    else:
        print(f"delivery {number} ({delivery['headers'].get('webhook-id')}) did not verify: {errors}")
        sys.exit(1)
print(len(deliveries))
