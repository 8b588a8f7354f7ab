"""One Lambda invocation as the Python runtime makes it, for the built-artefact tests: run with
``python -I -S`` (no site-packages, no PYTHONPATH, not this folder), it puts on the path only what
Lambda has (the function's code, the layers' ``python`` folder that Lambda mounts at /opt/python, the
runtime's own boto3) and calls ``app.lambda_handler`` with the event on stdin and a context. The answer
(the result, or Lambda's errorType/errorMessage) goes to the file named last, since the handler's logs
and metrics go to stdout as on Lambda.

Usage: python -I -S lambda_bootstrap.py TASK_ROOT LAYER RUNTIME HANDLER FUNCTION_ARN ANSWER_FILE

It imports nothing of the project itself: what the handler imports must come from the build.
"""

import json
import sys
import time
import traceback
import uuid


def main() -> None:
    task_root, layer, runtime, handler, function_arn, answer_file = sys.argv[1:7]
    sys.path[:0] = [task_root, layer, runtime]
    deadline = time.monotonic() + 120  # the template's Timeout

    class Context:
        function_name = function_arn.rsplit(":", 1)[-1]
        function_version = "$LATEST"
        memory_limit_in_mb = 256
        invoked_function_arn = function_arn
        aws_request_id = str(uuid.uuid4())
        log_group_name = f"/aws/lambda/{function_name}"
        log_stream_name = "built-artefact"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return max(0, int((deadline - time.monotonic()) * 1000))

    event = json.loads(sys.stdin.read() or "{}")
    module_name, _, function = handler.rpartition(".")
    try:
        module = __import__(module_name)
        answer = {"result": getattr(module, function)(event, Context())}
    except Exception as err:  # noqa: BLE001 (Lambda reports any exception as a function error)
        answer = {
            "errorType": type(err).__name__,
            "errorMessage": str(err),
            "stackTrace": traceback.format_exception(err),
        }
    with open(answer_file, "w") as out:
        json.dump(answer, out, default=str)


if __name__ == "__main__":
    main()
