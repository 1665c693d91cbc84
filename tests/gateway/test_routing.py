"""Routing among several backends of one model: affinity, least busy, health."""

from __future__ import annotations

from airlock.gateway.routing import PROMPT_PREFIX_CHARS, Backend, Router, affinity_key


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def router(count: int = 3, **kwargs: object) -> Router:
    backends = [Backend(f"http://127.0.0.1:{8000 + i}/v1") for i in range(count)]
    return Router(backends, **kwargs)  # type: ignore[arg-type]


def conversation(turns: int, system: str = "you help") -> dict[str, object]:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "first"}]
    for turn in range(turns):
        messages += [
            {"role": "assistant", "content": f"answer {turn}"},
            {"role": "user", "content": f"next {turn}"},
        ]
    return {"messages": messages}


def test_affinity_key_is_the_same_for_every_turn_of_a_conversation() -> None:
    keys = {affinity_key(conversation(turns)) for turns in range(5)}
    assert len(keys) == 1
    assert affinity_key(conversation(0, system="other")) not in keys
    # No system message: the first user message is the head.
    assert affinity_key({"messages": [{"role": "user", "content": "a"}]}) == affinity_key(
        {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
    )


def test_affinity_key_of_a_prompt_is_its_prefix() -> None:
    shared = "x" * PROMPT_PREFIX_CHARS
    assert affinity_key({"prompt": shared + "one"}) == affinity_key({"prompt": shared + "two"})
    assert affinity_key({"prompt": ["abc", "def"]}) == affinity_key({"prompt": "abc"})
    assert affinity_key({"input": "embed me"}) is None


def test_same_key_same_backend_and_keys_spread() -> None:
    routes = router()
    chosen = {routes.choose(f"conversation {i}").url for _ in range(3) for i in range(30)}  # type: ignore[union-attr]
    assert len(chosen) == 3
    first = routes.choose("conversation 7")
    assert all(routes.choose("conversation 7") is first for _ in range(10))


def test_a_backend_going_down_moves_only_its_conversations() -> None:
    routes = router()
    before = {i: routes.choose(f"c{i}") for i in range(60)}
    lost = routes.backends[0]
    routes.mark_down(lost)
    after = {i: routes.choose(f"c{i}") for i in range(60)}
    for i in range(60):
        if before[i] is not lost:
            assert after[i] is before[i]
        else:
            assert after[i] is not lost


def test_least_busy_without_affinity() -> None:
    routes = router()
    routes.backends[0].in_flight = 2
    routes.backends[1].in_flight = 1
    routes.backends[2].in_flight = 3
    assert routes.choose(None) is routes.backends[1]


def test_affinity_yields_to_load_beyond_the_slack() -> None:
    routes = router(2, slack=2)
    preferred = routes.choose("hot system prompt")
    assert preferred is not None
    other = next(b for b in routes.backends if b is not preferred)
    preferred.in_flight = 2
    assert routes.choose("hot system prompt") is preferred  # within the slack
    preferred.in_flight = 3
    assert routes.choose("hot system prompt") is other


def test_ties_are_taken_in_turn() -> None:
    routes = router(3)
    assert len({id(routes.choose(None)) for _ in range(3)}) == 3


def test_failures_mark_down_and_probes_bring_back() -> None:
    clock = Clock()
    routes = router(2, down_after=2, probe_s=5.0, clock=clock)
    sick = routes.backends[0]
    routes.failed(sick)
    assert sick.up  # one failure is not enough
    routes.succeeded(sick)
    routes.failed(sick)
    assert sick.up  # the count is of consecutive failures
    routes.failed(sick)
    assert not sick.up
    assert all(routes.choose(f"k{i}") is routes.backends[1] for i in range(20))
    assert routes.probe_due() == []  # not before probe_s
    clock.now = 5.0
    assert routes.probe_due() == [sick]
    assert routes.probe_due() == []  # due again only probe_s later
    routes.succeeded(sick)
    assert sick.up and sick.failures == 0


def test_no_backend_up_is_none() -> None:
    routes = router(2)
    for backend in routes.backends:
        routes.mark_down(backend)
    assert routes.choose("any") is None
    assert router(0).choose(None) is None


def test_excluded_backends_are_skipped() -> None:
    routes = router(2)
    first = routes.choose("k")
    assert first is not None
    assert routes.choose("k", exclude=[first]) is not first
    assert routes.choose("k", exclude=routes.backends) is None
