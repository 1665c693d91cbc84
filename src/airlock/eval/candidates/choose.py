"""The candidates a run compares, from their specs: admitted models looked up in the registry
(the newest version, or the one named), endpoints with their keys from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from airlock.eval.candidates.admitted import AdmittedCandidate
from airlock.eval.candidates.endpoint import EndpointCandidate, key_variable
from airlock.eval.candidates.interface import Candidate
from airlock.eval.candidates.specs import EndpointSpec, ModelSpec
from airlock.eval.errors import EvalError


def admitted_candidates(specs: Sequence[ModelSpec], *, prepack: bool = True) -> list[Candidate]:
    """Raises EvalError for a registry that cannot be opened or a model it does not hold."""
    if not specs:
        return []
    from airlock.gateway.registry_catalog import admitted_model
    from airlock.registry.store import Registry, RegistryError
    from airlock.suggest import did_you_mean

    try:
        registry = Registry()
    except RegistryError as exc:
        raise EvalError(str(exc)) from None
    try:
        found: list[Candidate] = []
        for spec in specs:
            record = registry.get(spec.name, spec.version)
            if record is None:
                version = "" if spec.version is None else f" version {spec.version}"
                names = registry.names()
                hint = "" if spec.name in names else did_you_mean(spec.name, names)
                raise EvalError(f"no admitted model {spec.name!r}{version}{hint}")
            model = admitted_model(record)
            found.append(AdmittedCandidate(spec.label, model, record.engine, prepack=prepack))
        return found
    finally:
        registry.close()


def endpoint_candidates(
    specs: Sequence[EndpointSpec], *, timeout_s: float, environ: Mapping[str, str] | None = None
) -> list[Candidate]:
    env = os.environ if environ is None else environ
    return [
        EndpointCandidate(s.name, s.url, s.model, env.get(key_variable(s.name)) or None, timeout_s)
        for s in specs
    ]


def check_names(candidates: Sequence[Candidate]) -> None:
    """Each candidate is one row of the report and one entry of the JSON: names must differ."""
    seen: set[str] = set()
    for candidate in candidates:
        if candidate.name in seen:
            raise EvalError(f"two candidates are named {candidate.name!r}: name them apart")
        seen.add(candidate.name)
