"""cfn-lint over what CloudFormation really deploys: the SAM template translated to plain CloudFormation
(every rule), the spoke template, and the state machines' ASL wrapped in a plain AWS::StepFunctions::StateMachine (cfn-lint's
E3601 checks ASL only there, not inside AWS::Serverless::StateMachine).

Runs in the SAM CLI's virtual environment, where samtranslator and cfn-lint live.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The translation resolves some parameter references to their default values (EventInvokeConfig's
# MaximumRetryAttempts: SAM's own intrinsic resolver does that at transform time, where CloudFormation
# passes the deployed value). The parameter is used; the translated copy only looks as if it were not.
IGNORED = ["W2001"]


def main() -> int:
    translated = subprocess.run(
        [sys.executable, str(REPO / "tools/translate_template.py"), str(REPO / "template.yaml")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    machines = {}
    for name in ("migration-plan", "fleet-sweep"):
        asl = json.loads((REPO / f"statemachines/{name}.asl.json").read_text())
        placeholders = sorted(set(re.findall(r"\$\{(\w+)\}", json.dumps(asl))))
        machines[name.replace("-", "")] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": "arn:aws:iam::123456789012:role/plan",
                "Definition": asl,
                "DefinitionSubstitutions": {
                    p: f"arn:aws:lambda:us-east-1:123456789012:function:{p}" for p in placeholders
                },
            },
        }
    wrapper = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": machines}
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / "translated.json", Path(folder) / "statemachine.json"]
        paths[0].write_text(translated)
        paths[1].write_text(json.dumps(wrapper, indent=1))
        lint = Path(sys.executable).parent / "cfn-lint"
        # The spoke is plain CloudFormation: linted as it is.
        spoke = str(REPO / "spoke/template.yaml")
        result = subprocess.run([str(lint), "--ignore-checks", *IGNORED, "--", *map(str, paths), spoke])
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
