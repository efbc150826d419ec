#!/usr/bin/env python3
"""Writes services/asl/src/mock_shapes/aws.rs: the response shapes TestState checks mocked
results against (`mock.fieldValidationMode`), for the AWS calls listed in CALLS, from botocore's
service models (the reference of every AWS API's fields and types).

    python3 -m pip install botocore==1.43.11   # the release the committed file came from
    python3 services/asl/tools/response_shapes.py

Shapes are followed to MAX_DEPTH levels (recursive ones such as DynamoDB's AttributeValue
included); past it any value passes. AWS's models mark few response fields required, so for
most of these calls STRICT checks what PRESENT does.
"""

import gzip
import json
import os
import subprocess
import sys

import botocore

# (the Task resource's service and action, as `switchback_asl::resource` names them) ->
# (botocore service, operation). Step Functions' optimized integrations first, then the
# `aws-sdk` calls most workflows make.
CALLS = [
    (("dynamodb", "getItem"), ("dynamodb", "GetItem")),
    (("dynamodb", "putItem"), ("dynamodb", "PutItem")),
    (("dynamodb", "updateItem"), ("dynamodb", "UpdateItem")),
    (("dynamodb", "deleteItem"), ("dynamodb", "DeleteItem")),
    (("events", "putEvents"), ("events", "PutEvents")),
    (("sns", "publish"), ("sns", "Publish")),
    (("sqs", "sendMessage"), ("sqs", "SendMessage")),
    (("aws-sdk:s3", "getObject"), ("s3", "GetObject")),
    (("aws-sdk:s3", "putObject"), ("s3", "PutObject")),
    (("aws-sdk:s3", "headObject"), ("s3", "HeadObject")),
    (("aws-sdk:s3", "listObjectsV2"), ("s3", "ListObjectsV2")),
    (("aws-sdk:kms", "encrypt"), ("kms", "Encrypt")),
    (("aws-sdk:kms", "decrypt"), ("kms", "Decrypt")),
    (("aws-sdk:secretsmanager", "getSecretValue"), ("secretsmanager", "GetSecretValue")),
    (("aws-sdk:ssm", "getParameter"), ("ssm", "GetParameter")),
    (("aws-sdk:dynamodb", "getItem"), ("dynamodb", "GetItem")),
    (("aws-sdk:dynamodb", "putItem"), ("dynamodb", "PutItem")),
    (("aws-sdk:dynamodb", "query"), ("dynamodb", "Query")),
    (("aws-sdk:sqs", "sendMessage"), ("sqs", "SendMessage")),
    (("aws-sdk:sns", "publish"), ("sns", "Publish")),
]

MAX_DEPTH = 6
OUT = os.path.join(os.path.dirname(__file__), "..", "src", "mock_shapes", "aws.rs")


def model(service):
    base = os.path.join(os.path.dirname(botocore.__file__), "data", service)
    version = sorted(os.listdir(base))[-1]
    path = os.path.join(base, version, "service-2.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    with gzip.open(path + ".gz") as f:
        return json.load(f)


class Writer:
    def __init__(self):
        self.consts = {}  # const name -> text
        self.order = []

    def shape(self, service, shapes, name, stack):
        shape = shapes[name]
        kind = shape["type"]
        if kind in ("string",) and "enum" in shape:
            values = ", ".join(json.dumps(v) for v in shape["enum"])
            return f"Shape::Enum(&[{values}])"
        if kind in ("string", "blob", "timestamp"):
            return "Shape::String"
        if kind in ("integer", "long", "double", "float"):
            return "Shape::Number"
        if kind == "boolean":
            return "Shape::Boolean"
        if len(stack) >= MAX_DEPTH:
            return "Shape::Any"
        stack = stack + [name]
        if kind == "list":
            return f"Shape::List(&{self.shape(service, shapes, shape['member']['shape'], stack)})"
        if kind == "map":
            return f"Shape::Map(&{self.shape(service, shapes, shape['value']['shape'], stack)})"
        if kind == "structure":
            return f"Shape::Structure({self.structure(service, shapes, name, stack)})"
        return "Shape::Any"

    def structure(self, service, shapes, name, stack):
        const = f"{service}_{name}".upper().replace("-", "_")
        if len(stack) > 1:
            # Nested structures are named by their depth: a recursive shape cut at different
            # depths has different members.
            const = f"{const}_{len(stack)}"
        if const in self.consts:
            return const
        self.consts[const] = None
        shape = shapes[name]
        required = set(shape.get("required", []))
        members = []
        for member, ref in shape["members"].items():
            text = self.shape(service, shapes, ref["shape"], stack)
            members.append(f"    ({json.dumps(member)}, {text}, {str(member in required).lower()}),")
        self.consts[const] = f"const {const}: &[Member] = &[\n" + "\n".join(members) + "\n];\n"
        self.order.append(const)
        return const


def main():
    writer = Writer()
    arms = []
    for (service, action), (model_name, operation) in CALLS:
        m = model(model_name)
        output = m["operations"][operation].get("output")
        if not output:
            continue
        const = writer.structure(model_name, m["shapes"], output["shape"], [output["shape"]])
        arms.append(f"        ({json.dumps(service)}, {json.dumps(action)}) => Some({const}),")
    text = [
        f"//! Generated by `services/asl/tools/response_shapes.py` from botocore {botocore.__version__}:",
        "//! the response shapes of the AWS calls TestState checks mocks against. Do not edit;",
        "//! run the script again.",
        "",
        "use super::{Member, Shape};",
        "",
        "/// The members of the response of `service`'s `action`, as a Task resource names them.",
        "pub(super) fn response(service: &str, action: &str) -> Option<&'static [Member]> {",
        "    match (service, action) {",
        *arms,
        "        _ => None,",
        "    }",
        "}",
        "",
    ]
    text += [writer.consts[name] for name in writer.order]
    with open(OUT, "w") as f:
        f.write("\n".join(text))
    # As `cargo fmt` leaves it, so that running the script again changes nothing.
    subprocess.run(["rustfmt", "--edition", "2024", OUT], check=True)
    print(f"wrote {OUT}: {len(arms)} calls, {len(writer.order)} structures", file=sys.stderr)


if __name__ == "__main__":
    main()
