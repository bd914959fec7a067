"""The offline judge of generated Kubernetes manifests (run by tests/integration/kubernetes.rs).

    python k8s_judge.py CRD_FOLDER KUBERNETES_VERSION FILE...

Core kinds are validated by `kubernetes-validate` (the upstream OpenAPI schemas of that Kubernetes
version), strictly: an unknown field is an error, as `kubectl apply --validate=strict` makes it. The
Prometheus Operator's kinds are validated by `jsonschema` against the `openAPIV3Schema` of their
CustomResourceDefinition, made strict the same way (an object schema that lists its properties and does
not preserve unknown fields refuses others: the API server would prune them silently). `Kustomization`
files are checked for resources that exist. One line per object: `VALID kind name` or
`INVALID file kind name: reason`; the exit code is 1 when anything is invalid.
"""

import copy
import pathlib
import sys

import jsonschema
import kubernetes_validate
import yaml

# PyYAML reads a bare `=` (the matchType enums of the CRDs) as YAML 1.1's "value" tag: it is a string.
yaml.SafeLoader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)


def strict(schema):
    """The schema with `additionalProperties: false` wherever the API server would prune."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def crd_schemas(folder):
    """(group/version, kind) -> validator, for every CRD in the folder."""
    schemas = {}
    for path in sorted(pathlib.Path(folder).glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group = crd["spec"]["group"]
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = strict(version["schema"]["openAPIV3Schema"])
            # metadata is checked by the API server, not by the CRD's schema.
            schema.setdefault("properties", {})["metadata"] = {"type": "object"}
            schemas[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return schemas


def main():
    crd_folder, kubernetes_version, *files = sys.argv[1:]
    schemas = crd_schemas(crd_folder)
    invalid = 0
    for file in files:
        path = pathlib.Path(file)
        for document in yaml.safe_load_all(path.read_text()):
            if document is None:
                continue
            kind = document.get("kind")
            name = document.get("metadata", {}).get("name", "")
            problem = None
            if kind == "Kustomization":
                missing = [r for r in document.get("resources", []) if not (path.parent / r).exists()]
                problem = f"resources that do not exist: {missing}" if missing else None
                name = str(path.parent)
            elif (document.get("apiVersion"), kind) in schemas:
                errors = sorted(
                    schemas[(document["apiVersion"], kind)].iter_errors(document),
                    key=lambda e: list(e.path),
                )
                if errors:
                    problem = "; ".join(
                        f"{'.'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors
                    )
            else:
                try:
                    kubernetes_validate.validate(document, kubernetes_version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    problem = f"{'.'.join(map(str, error.path)) or '(root)'}: {error.message}"
                except kubernetes_validate.SchemaNotFoundError as error:
                    problem = f"no schema: {error}"
            if problem:
                invalid += 1
                print(f"INVALID {file} {kind} {name}: {problem}")
            else:
                print(f"VALID {kind} {name}")
    sys.exit(1 if invalid else 0)


if __name__ == "__main__":
    main()
