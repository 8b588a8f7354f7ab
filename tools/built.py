"""What `sam build` made, run and read as Lambda would: the tests' built-artefact tier.

- ``Build``: the functions of template.yaml (CodeUri, Handler, Environment resolved from the template
  with the resources a test created), each run from its own artefact folder with the built layer where
  Lambda mounts it, in a clean interpreter (``tools/lambda_bootstrap.py``) that sees nothing else but
  the boto3 the Python runtime ships. moto's Lambda invoke can be answered by them, so the deployed
  state machines run the built handlers.
- ``missing_imports``: every import in the built code (lazy ones too, read from the syntax tree, not by
  importing) that resolves to nothing the function would have on Lambda.

Nothing here is part of the deployed product.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
# What the python3.13 runtime itself provides (its boto3 and what boto3 needs). The layer must bring
# everything else.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
ACCOUNT, REGION = "123456789012", "us-east-1"


class _Tags(yaml.SafeLoader):
    """template.yaml with CloudFormation's short tags kept as their long forms ({"Ref": ...})."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}


_Tags.add_multi_constructor("!", _tag)


def load_template(path: Path = REPO / "template.yaml") -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_Tags)


def runtime_dir(into: Path) -> Path:
    """A folder with only the runtime's packages, linked from this environment's site-packages."""
    purelib = Path(sysconfig.get_paths()["purelib"])
    into.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PACKAGES:
        if not (into / name).exists():
            (into / name).symlink_to(purelib / name)
    return into


@dataclass
class Function:
    logical_id: str
    code: Path
    handler: str
    environment: dict[str, str]

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.logical_id}"


@dataclass
class Build:
    """``sam build``'s output folder and the template it was built from. ``resources``: what a test
    created for the template's resources (logical id -> the value ``!Ref``/``!GetAtt`` gives), used to
    resolve each function's environment."""

    root: Path
    runtime: Path
    template: dict[str, Any] = field(default_factory=load_template)
    resources: dict[str, str] = field(default_factory=dict)
    endpoint_url: str = ""
    invocations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def layer(self) -> Path:
        return self.root / "CoreLayer" / "python"

    def function_ids(self) -> list[str]:
        return [k for k, r in self.template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]

    def function(self, logical_id: str) -> Function:
        properties = self.template["Resources"][logical_id]["Properties"]
        variables = dict(self.template["Globals"]["Function"]["Environment"]["Variables"])
        variables.update(properties.get("Environment", {}).get("Variables", {}))
        environment = {key: self._resolve(value, f"{logical_id}.{key}") for key, value in variables.items()}
        return Function(logical_id, self.root / logical_id, properties["Handler"], environment)

    def _resolve(self, value: Any, where: str) -> str:
        if not isinstance(value, dict):
            return str(value).lower() if isinstance(value, bool) else str(value)
        [(kind, arg)] = value.items()
        if kind == "Ref":
            parameter = self.template["Parameters"].get(arg)
            if parameter is not None:
                return self._resolve(parameter.get("Default", ""), where)
            if arg in self.resources:
                return self.resources[arg]
        if kind == "Fn::GetAtt":
            name = ".".join(arg) if isinstance(arg, list) else arg
            if name in self.resources:
                return self.resources[name]
            return f"arn:aws:iam::{ACCOUNT}:role/{name.split('.')[0]}"  # a role's Arn: compared, never called
        if kind == "Fn::Join":
            separator, parts = arg
            return str(separator).join(self._resolve(part, where) for part in parts)
        if kind == "Fn::If":  # the conditions are the parameters' defaults: evaluated by the test
            condition, when_true, when_false = arg
            return self._resolve(when_true if self.conditions().get(condition) else when_false, where)
        raise KeyError(f"{where}: {value} is not resolved; give the test's value in Build.resources")

    def conditions(self) -> dict[str, bool]:
        defaults = {k: str(p.get("Default", "")) for k, p in self.template["Parameters"].items()}
        found = {}
        for name, rule in self.template.get("Conditions", {}).items():
            if set(rule) == {"Fn::Equals"} and isinstance(rule["Fn::Equals"][0], dict):
                left, right = rule["Fn::Equals"]
                found[name] = defaults.get(left.get("Ref", "")) == str(right)
        return found

    def invoke(self, logical_id: str, event: Any, **environment: str) -> dict[str, Any]:
        """One invocation of the built function; its answer as Lambda gives it: ``{"result": ...}`` or
        ``{"errorType", "errorMessage", "stackTrace"}``; ``logs`` is what it wrote."""
        function = self.function(logical_id)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_LAMBDA_FUNCTION_NAME": logical_id,
            "LAMBDA_TASK_ROOT": str(function.code),
            # No X-Ray daemon here: tracing off, as the template's default (PassThrough) leaves it.
            **function.environment,
            **environment,
        }
        with tempfile.TemporaryDirectory() as scratch:
            answer_file = Path(scratch) / "answer.json"
            command = [sys.executable, "-I", "-S", str(BOOTSTRAP), str(function.code), str(self.layer)]
            command += [str(self.runtime), function.handler, function.arn, str(answer_file)]
            ran = subprocess.run(
                command,
                input=json.dumps(event),
                capture_output=True,
                text=True,
                env=env,
                cwd=scratch,
                timeout=300,
            )
            if not answer_file.exists():  # the runtime itself failed: no answer at all
                raise RuntimeError(f"{logical_id} did not answer ({ran.returncode}): {ran.stderr[-4000:]}")
            answer = json.loads(answer_file.read_text())
        answer["logs"] = ran.stdout + ran.stderr
        self.invocations.append((logical_id, answer))
        return answer

    def moto_invoke(self) -> Any:
        """A stand-in for moto's LambdaBackend.invoke: the built function of the same name answers."""
        build = self

        def invoke(
            backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
        ) -> str:
            answer = build.invoke(function_name.rsplit(":", 1)[-1], json.loads(body or "{}"))
            if "result" in answer:
                return json.dumps(answer["result"])
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({k: answer[k] for k in ("errorType", "errorMessage")})

        return invoke


# --- the static guard ----------------------------------------------------------------------------------


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """An import that may be absent by design: under ``if TYPE_CHECKING`` or a ``try`` that catches
    ImportError."""
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.If) and "TYPE_CHECKING" in ast.unparse(parent.test) and node in parent.body:
            return True
        if isinstance(parent, ast.Try) and node in parent.body:
            caught = " ".join(ast.unparse(h.type) for h in parent.handlers if h.type is not None)
            if "ImportError" in caught or "ModuleNotFoundError" in caught:
                return True
        node = parent
    return False


def imports_of(source: Path, package: str) -> Iterator[tuple[int, str, str | None]]:
    """(line, module, name) for every import statement in ``source``, at any depth; ``package`` is the
    module's package, for relative imports."""
    tree = ast.parse(source.read_text(), str(source))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and not _guarded(node, parents):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and not _guarded(node, parents):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                yield node.lineno, base, alias.name


def _spec(module: str, roots: list[str]) -> ModuleSpec | None:
    """Where ``module`` would be found on ``roots``, by the import system's own finder, without importing."""
    top, *rest = module.split(".")
    spec = PathFinder.find_spec(top, roots)
    for part in rest:
        if spec is None or spec.submodule_search_locations is None:
            return None
        spec = PathFinder.find_spec(f"{spec.name}.{part}", list(spec.submodule_search_locations))
    return spec


def _resolves(module: str, roots: list[str]) -> bool:
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or top == "__future__" or _spec(module, roots) is not None


def _defines(package: ModuleSpec, name: str) -> bool:
    """``name`` is bound at the top of the package's ``__init__``."""
    assert package.origin is not None
    tree = ast.parse(Path(package.origin).read_text())
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    imported = (n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))
    defined |= {(a.asname or a.name).split(".")[0] for n in imported for a in n.names}
    return name in defined


def missing_imports(build: Build) -> list[str]:
    """Every import of the project's built code (the layer's endpoint_guard, each function's folder)
    that nothing on that function's Lambda path provides: ``file:line: module``. Third-party packages
    in the layer are not walked: their optional imports are theirs."""
    problems = []
    layer_roots = [str(build.layer), str(build.runtime)]
    walks = [
        (p, ".".join(p.relative_to(build.layer).parent.parts), layer_roots)
        for p in sorted((build.layer / "endpoint_guard").rglob("*.py"))
    ]
    for logical_id in build.function_ids():
        code = build.root / logical_id
        walks += [(p, "", [str(code), *layer_roots]) for p in sorted(code.glob("*.py"))]
    for path, package, roots in walks:
        for line, module, name in imports_of(path, package):
            if not _resolves(module, roots):
                problems.append(f"{path.relative_to(build.root)}:{line}: {module}")
                continue
            package_spec = _spec(module, roots) if name and name != "*" else None
            is_package = package_spec is not None and package_spec.submodule_search_locations is not None
            # `from package import name`: a submodule, or a name the package's __init__ binds
            if is_package and _spec(f"{module}.{name}", roots) is None and not _defines(package_spec, str(name)):
                problems.append(f"{path.relative_to(build.root)}:{line}: {module}.{name}")
    return sorted(set(problems))
