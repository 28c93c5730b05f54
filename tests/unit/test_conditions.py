import importlib
import pkgutil
from pathlib import Path

import pytest

from drillbook.conditions import (
    CONDITIONS,
    AmbiguousCondition,
    ConditionError,
    ConditionRegistry,
    check_registry,
    resolve,
)

ROOT = Path(__file__).resolve().parents[2]


# Condition functions of the local registries below; their names appear in the errors.
def breaker_state(request, drill, state):
    return lambda: (True, state)


def breaker_open(request, drill):
    return lambda: (True, "open")


def component_open(request, drill, component):
    return lambda: (True, component)


def probes_back(request, drill, path=None):
    return lambda: (True, path)


def hit_rate(request, drill, pct):
    return lambda: (True, pct)


@pytest.mark.parametrize(
    ("greedy", "swallowed"),
    [
        ("the LLM circuit breaker is {state}", "the LLM circuit breaker is open"),
        ('the probes of "{path}" succeed again', 'the probes of "/lookup" succeed again'),
        ("the Redis hit rate is at least {pct:g}%", "the Redis hit rate is at least 80%"),
    ],
)
@pytest.mark.parametrize("greedy_first", [True, False])
def test_a_pattern_that_swallows_another_is_refused_naming_both(greedy, swallowed, greedy_first):
    registry = ConditionRegistry()
    first, second = (greedy, swallowed) if greedy_first else (swallowed, greedy)
    registry.add(first, breaker_state)
    with pytest.raises(ConditionError) as err:
        registry.add(second, breaker_open)
    message = str(err.value)
    assert repr(greedy) in message
    assert repr(swallowed) in message
    assert f"{__name__}.breaker_state" in message
    assert f"{__name__}.breaker_open" in message
    assert [c.pattern for c in registry] == [first]


def test_the_same_pattern_from_two_functions_is_refused():
    registry = ConditionRegistry()
    registry.add("the probes succeed again", probes_back)
    with pytest.raises(ConditionError, match=r"probes_back.*breaker_open"):
        registry.add("the probes succeed again", breaker_open)


def test_a_function_registering_its_pattern_again_replaces_it():
    registry = ConditionRegistry()
    registry.add("the probes succeed again", probes_back)
    registry.add("the probes succeed again", probes_back)
    assert len(registry) == 1
    registry.check()


def test_an_ambiguous_sentence_is_refused_naming_both_patterns():
    registry = ConditionRegistry()
    # Neither pattern matches the other's example, so both register...
    registry.add("the {component} is open", component_open)
    registry.add("the breaker is {state}", breaker_state)
    registry.check()
    # ...but a sentence that both match is refused, not given to the first registered.
    with pytest.raises(AmbiguousCondition) as err:
        registry.resolve("the breaker is open")
    message = str(err.value)
    assert "ambiguous condition 'the breaker is open'" in message
    assert f"'the {{component}} is open' ({__name__}.component_open)" in message
    assert f"'the breaker is {{state}}' ({__name__}.breaker_state)" in message
    # A LookupError, so the scenario fails before its first step, like an unknown condition.
    assert isinstance(err.value, LookupError)


def test_an_unquoted_placeholder_takes_one_word_and_does_not_swallow_the_sentence():
    registry = ConditionRegistry()
    registry.add("the LLM circuit breaker is {state}", breaker_state)
    registry.add("the probes succeed again", probes_back)
    func, kwargs = registry.resolve("the LLM circuit breaker is open")
    assert (func, kwargs) == (breaker_state, {"state": "open"})
    with pytest.raises(LookupError, match=r"unknown condition .*one word") as err:
        registry.resolve("the LLM circuit breaker is open and the probes succeed again")
    assert not isinstance(err.value, AmbiguousCondition)


def test_a_quoted_placeholder_takes_spaces_but_not_a_quote():
    registry = ConditionRegistry()
    registry.add('the probes of "{path}" succeed again', probes_back)
    assert registry.resolve('the probes of "a b" succeed again')[1] == {"path": "a b"}
    with pytest.raises(LookupError, match="unknown condition"):
        registry.resolve('the probes of "/a" succeed again" and "/b" succeed again')


def test_typed_placeholders_keep_their_type():
    registry = ConditionRegistry()
    registry.add("the Redis hit rate is at least {pct:g}%", hit_rate)
    assert registry.resolve("the Redis hit rate is at least 80%")[1] == {"pct": 80.0}
    with pytest.raises(LookupError, match="unknown condition"):
        registry.resolve("the Redis hit rate is at least high%")


def test_a_placeholder_without_a_name_is_refused():
    with pytest.raises(ConditionError, match=r"placeholder \{\} needs a name"):
        ConditionRegistry().add("the breaker is {}", breaker_state)


def test_local_registries_leave_the_default_one_alone():
    before = [c.pattern for c in CONDITIONS]
    ConditionRegistry().add("the moon rises", breaker_open)
    assert [c.pattern for c in CONDITIONS] == before


def import_every_steps_module() -> None:
    for module in pkgutil.iter_modules([str(ROOT / "steps")]):
        importlib.import_module(f"steps.{module.name}")


def test_the_real_registry_passes_the_check():
    import_every_steps_module()
    check_registry()
    patterns = {c.pattern for c in CONDITIONS}
    assert {"the probes succeed again", "the LLM circuit breaker is {state}"} <= patterns
    for registered in CONDITIONS:
        func, _kwargs = resolve(registered.example)
        assert func is registered.func, registered


def test_the_real_registry_refuses_two_conditions_in_one_sentence():
    import_every_steps_module()
    func, kwargs = resolve("the LLM circuit breaker is open")
    assert (func.__name__, kwargs) == ("breaker_state", {"state": "open"})
    with pytest.raises(LookupError, match="unknown condition"):
        resolve("the LLM circuit breaker is open and the probes succeed again")
