"""Translate template.yaml to plain CloudFormation with samtranslator (the library SAM uses).

Runs in the SAM CLI's virtual environment (that is where samtranslator lives). Local code paths are
replaced by S3 URIs first, as `sam package` would do. Prints the CloudFormation JSON.
"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class _NoManagedPolicies:
    def load(self):
        return {}


def main(path: str) -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path) as handle:
        template = yaml_parse(handle.read())
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://packaged-artifacts/{props[key].strip('/').replace('/', '-')}.zip"
        if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            with open(os.path.join(os.path.dirname(path), props.pop("DefinitionUri"))) as asl:
                props["Definition"] = json.load(asl)
    print(json.dumps(transform(template, {}, _NoManagedPolicies()), indent=1, default=str))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")
