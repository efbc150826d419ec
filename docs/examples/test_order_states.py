"""Unit tests of docs/examples/order.asl.json's states with TestState and mocks: no workflow
runs, no Lambda or DynamoDB is called, nothing is stored. Run against `switchback dev`:

    SWITCHBACK_ENDPOINT=http://127.0.0.1:8083 python3 docs/examples/test_order_states.py

(needs boto3; any credentials do unless the server checks signatures).
"""

import json
import os
import pathlib
import unittest

import boto3
from botocore.config import Config

DEFINITION = (pathlib.Path(__file__).parent / "order.asl.json").read_text()
ENDPOINT = os.environ.get("SWITCHBACK_ENDPOINT", "http://127.0.0.1:8083")
ORDER = {"orderId": "o-1", "quantity": 2}

# TestState is a `sync-` operation: SDKs would send it to sync-<host>, which does not resolve
# for 127.0.0.1 (README, "The sync- host prefix").
client = boto3.client(
    "stepfunctions",
    endpoint_url=ENDPOINT,
    region_name="us-east-1",
    aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
    aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    config=Config(inject_host_prefix=False),
)


def test_state(state, order=ORDER, **options):
    """TestState of one state of the whole machine, by its name."""
    return client.test_state(
        definition=DEFINITION, stateName=state, input=json.dumps(order), **options
    )


class OrderStates(unittest.TestCase):
    def test_an_order_of_nothing_is_rejected(self):
        answer = test_state("CheckOrder", {"orderId": "o-2", "quantity": 0})
        self.assertEqual(answer["status"], "SUCCEEDED")
        self.assertEqual(answer["nextState"], "Rejected")

    def test_a_charged_card_keeps_the_charge_id(self):
        mock = {"result": json.dumps({"StatusCode": 200, "Payload": {"chargeId": "ch-9"}})}
        answer = test_state("ChargeCard", mock=mock, inspectionLevel="DEBUG")
        self.assertEqual(answer["status"], "SUCCEEDED")
        self.assertEqual(answer["nextState"], "ReserveStock")
        self.assertEqual(json.loads(answer["output"])["charge"], {"chargeId": "ch-9"})
        self.assertEqual(
            json.loads(answer["inspectionData"]["afterResultSelector"]), {"chargeId": "ch-9"}
        )

    def test_a_declined_card_is_retried_then_caught(self):
        declined = {"errorOutput": {"error": "Payment.Declined", "cause": "insufficient funds"}}
        answer = test_state("ChargeCard", mock=declined, inspectionLevel="DEBUG")
        self.assertEqual(answer["status"], "RETRIABLE")
        self.assertEqual(answer["inspectionData"]["errorDetails"]["retryIndex"], 0)
        # After the retrier's two attempts, the catcher takes it.
        answer = test_state(
            "ChargeCard", mock=declined, stateConfiguration={"retrierRetryCount": 2}
        )
        self.assertEqual(answer["status"], "CAUGHT_ERROR")
        self.assertEqual(answer["nextState"], "PaymentFailed")
        self.assertEqual(json.loads(answer["output"])["error"]["Error"], "Payment.Declined")

    def test_a_mock_that_does_not_fit_dynamodbs_answer_is_refused(self):
        mock = {"result": json.dumps({"ConsumedCapacity": {"CapacityUnits": "lots"}})}
        with self.assertRaises(client.exceptions.ValidationException) as refused:
            test_state("ReserveStock", mock=mock)
        self.assertIn("Field 'CapacityUnits' must be a number", str(refused.exception))
        # A wrong type passes when validation is off.
        answer = test_state(
            "ReserveStock",
            mock={
                "result": json.dumps({"ConsumedCapacity": {"CapacityUnits": "lots"}}),
                "fieldValidationMode": "NONE",
            },
        )
        self.assertEqual(answer["nextState"], "Summarize")

    def test_the_summary_reads_the_charge_and_assigns_a_variable(self):
        order = dict(ORDER, charge={"chargeId": "ch-9"})
        answer = test_state("Summarize", order, inspectionLevel="DEBUG")
        self.assertEqual(json.loads(answer["output"]), "order o-1: 2 reserved, charge ch-9")
        self.assertEqual(json.loads(answer["inspectionData"]["variables"]), {"reserved": 2})


if __name__ == "__main__":
    unittest.main()
