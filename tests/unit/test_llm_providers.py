"""The provider layer with the official SDKs against local fake providers: usage, cost,
retries, errors, structured output, credentials, model resolution and the mock response."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from genai_prices import Usage, calc_price
from pydantic import BaseModel
from tests._fake_llm import FakeProvider, anthropic_server, openai_server

import kitaru
from kitaru.config.model_aliases import register_model
from kitaru.config.secrets import set_secret
from kitaru.errors import KitaruRuntimeError, KitaruStateError
from kitaru.providers import complete, complete_text

_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL")


@pytest.fixture(autouse=True)
def _provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*_KEYS, "KITARU_LLM_MOCK_RESPONSE", "KITARU_DEFAULT_MODEL", "OLLAMA_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KITARU_LLM_RETRY_DELAY", "0.001")


@pytest.fixture
def oai(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    with openai_server() as provider:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key")
        register_model("gpt", model="openai/gpt-4o-mini", base_url=provider.url + "/v1")
        yield provider


@pytest.fixture
def claude(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    with anthropic_server() as provider:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-env")
        register_model("claude", model="anthropic/claude-3-5-haiku-latest", base_url=provider.url)
        yield provider


def _price(model: str, provider: str, tokens: tuple[int, int]) -> float:
    usage = Usage(input_tokens=tokens[0], output_tokens=tokens[1])
    return float(calc_price(usage, model, provider_id=provider).total_price)


class Answer(BaseModel):
    city: str
    population: int


def test_openai_reply_with_usage_and_cost(oai: FakeProvider) -> None:
    oai.reply_text("Paris.")
    done = complete("Capital of France?", model="gpt", system="Be brief.", temperature=0.2, max_tokens=50)
    assert done.value == done.text == "Paris."
    assert (done.input_tokens, done.output_tokens) == oai.usage
    assert done.cost_usd == pytest.approx(_price("gpt-4o-mini", "openai", oai.usage))
    assert done.cost_usd > 0
    meta = done.metadata()
    assert meta["requested_model"] == "gpt" and meta["resolved_model"] == "openai/gpt-4o-mini"
    assert meta["alias"] == "gpt" and meta["credential_source"] == "environment variable OPENAI_API_KEY"
    assert "sk-env-key" not in json.dumps(meta)
    (request,) = oai.requests
    assert request["model"] == "gpt-4o-mini"
    assert request["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert request["temperature"] == 0.2 and request["max_completion_tokens"] == 50
    assert oai.headers[0]["authorization"] == "Bearer sk-env-key"


def test_anthropic_reply_with_usage_and_cost(claude: FakeProvider) -> None:
    claude.reply_text("Bonjour")
    done = complete([{"role": "user", "content": "Say hello in French"}], model="claude", system="One word.")
    assert done.text == "Bonjour"
    assert (done.input_tokens, done.output_tokens) == claude.usage
    assert done.cost_usd == pytest.approx(_price("claude-3-5-haiku-latest", "anthropic", claude.usage))
    (request,) = claude.requests
    assert request["system"] == "One word."
    assert request["messages"] == [{"role": "user", "content": "Say hello in French"}]
    assert request["max_tokens"] == 4096  # required by the Messages API
    assert "sk-ant-env" in (
        claude.headers[0].get("x-api-key"),
        claude.headers[0].get("authorization", "").removeprefix("Bearer "),
    )


@pytest.mark.parametrize("server", [openai_server, anthropic_server])
def test_a_rate_limit_is_retried_then_succeeds(server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    with server() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
        provider = "anthropic/claude-3-5-haiku-latest" if fake.api == "anthropic" else "openai/gpt-4o-mini"
        base = fake.url if fake.api == "anthropic" else fake.url + "/v1"
        register_model("m", model=provider, base_url=base)
        fake.reply_error(429, "slow down")
        fake.reply_error(503, "overloaded")
        fake.reply_text("finally")
        done = complete("hi", model="m")
    assert done.text == "finally"
    assert fake.count == 3 and done.requests == 3
    assert (done.input_tokens, done.output_tokens) == fake.usage  # failed requests report no usage


@pytest.mark.parametrize("server", [openai_server, anthropic_server])
def test_a_bad_request_is_not_retried_and_says_why(server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    with server() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
        provider = "anthropic/claude-3-5-haiku-latest" if fake.api == "anthropic" else "openai/gpt-4o-mini"
        base = fake.url if fake.api == "anthropic" else fake.url + "/v1"
        register_model("m", model=provider, base_url=base)
        fake.reply_error(400, "max_tokens is too large")
        with pytest.raises(KitaruRuntimeError) as caught:
            complete("hi", model="m")
    assert fake.count == 1
    message = str(caught.value)
    assert "HTTP 400" in message and "max_tokens is too large" in message and provider in message
    assert "not retried" in message


def test_retries_give_up_after_the_configured_number(
    oai: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITARU_LLM_MAX_RETRIES", "1")
    for _ in range(3):
        oai.reply_error(429, "slow down")
    with pytest.raises(KitaruRuntimeError, match=r"HTTP 429.*after 2 requests"):
        complete("hi", model="gpt")
    assert oai.count == 2


def test_retry_settings_are_validated(monkeypatch: pytest.MonkeyPatch, oai: FakeProvider) -> None:
    monkeypatch.setenv("KITARU_LLM_MAX_RETRIES", "many")
    with pytest.raises(kitaru.KitaruUsageError, match="KITARU_LLM_MAX_RETRIES"):
        complete("hi", model="gpt")
    assert oai.count == 0


def test_structured_output_uses_openai_json_schema(oai: FakeProvider) -> None:
    oai.reply_text('{"city": "Paris", "population": 2100000}')
    done = complete("Biggest French city?", model="gpt", schema=Answer)
    assert done.value == Answer(city="Paris", population=2100000)
    (request,) = oai.requests
    assert request["response_format"]["type"] == "json_schema"
    assert (
        request["response_format"]["json_schema"]["schema"]["properties"]["population"]["type"] == "integer"
    )


def test_structured_output_repairs_once_then_validates(claude: FakeProvider) -> None:
    claude.reply_text("Sure! The city is Paris.")
    claude.reply_text('```json\n{"city": "Paris", "population": 2100000}\n```')
    done = complete("Biggest French city?", model="claude", schema=Answer)
    assert done.value == Answer(city="Paris", population=2100000)
    assert claude.count == 2 and done.requests == 2
    assert done.input_tokens == 2 * claude.usage[0]
    first, repair = claude.requests
    assert "JSON schema" in first["system"]
    assert repair["messages"][-2] == {"role": "assistant", "content": "Sure! The city is Paris."}
    assert "does not match" in repair["messages"][-1]["content"]


def test_structured_output_fails_after_one_repair(oai: FakeProvider) -> None:
    oai.reply_text("not json")
    oai.reply_text('{"city": "Paris"}')
    with pytest.raises(KitaruRuntimeError, match="does not match schema 'Answer'"):
        complete("?", model="gpt", schema=Answer)
    assert oai.count == 2


def test_credentials_from_the_alias_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    with openai_server() as fake:
        set_secret("openai-creds", {"OPENAI_API_KEY": "sk-from-secret"})
        register_model("fast", model="openai/gpt-4o-mini", secret="openai-creds", base_url=fake.url + "/v1")
        done = complete("hi", model="fast")
    assert done.credential_source == "secret 'openai-creds' (OPENAI_API_KEY)"
    assert fake.headers[0]["authorization"] == "Bearer sk-from-secret"
    assert "sk-from-secret" not in json.dumps(done.metadata())
    import os

    assert "OPENAI_API_KEY" not in os.environ  # overlaid for the call only, never exported


def test_the_environment_wins_over_the_alias_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    with openai_server() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
        set_secret("openai-creds", {"OPENAI_API_KEY": "sk-from-secret"})
        register_model("fast", model="openai/gpt-4o-mini", secret="openai-creds", base_url=fake.url + "/v1")
        done = complete("hi", model="fast")
    assert done.credential_source == "environment variable OPENAI_API_KEY"
    assert fake.headers[0]["authorization"] == "Bearer sk-env"


def test_missing_credentials_name_both_sources() -> None:
    register_model("fast", model="anthropic/claude-3-5-haiku-latest", secret="claude-creds")
    set_secret("claude-creds", {"OTHER": "x"})
    with pytest.raises(KitaruStateError) as caught:
        complete("hi", model="fast")
    message = str(caught.value)
    assert "ANTHROPIC_API_KEY" in message and "'claude-creds'" in message and "kitaru secrets set" in message
    with pytest.raises(KitaruStateError, match=r"OPENAI_API_KEY is not set.*kitaru model register"):
        complete("hi", model="openai/gpt-4o-mini")


def test_model_resolution_order(oai: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    register_model("other", model="openai/gpt-4o", base_url=oai.url + "/v1", default=True)
    assert complete("hi").model.alias == "other"  # the default alias
    monkeypatch.setenv("KITARU_DEFAULT_MODEL", "gpt")
    assert complete("hi").model.alias == "gpt"  # KITARU_DEFAULT_MODEL
    assert complete("hi", model="other").model.alias == "other"  # explicit
    assert [r["model"] for r in oai.requests] == ["gpt-4o", "gpt-4o-mini", "gpt-4o"]


def test_no_model_at_all_says_how_to_choose_one() -> None:
    with pytest.raises(KitaruStateError, match="KITARU_DEFAULT_MODEL"):
        complete("hi")


def test_an_unknown_model_has_no_cost_not_zero(oai: FakeProvider) -> None:
    register_model("mine", model="openai/my-finetune-xyz", base_url=oai.url + "/v1")
    done = complete("hi", model="mine")
    assert done.input_tokens == oai.usage[0]
    assert done.cost_usd is None


def test_ollama_uses_ollama_host_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with openai_server() as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url.removeprefix("http://"))
        done = complete("hi", model="ollama/llama3.2", max_tokens=5)
    assert done.model.base_url == fake.url + "/v1"
    assert done.credential_source.startswith("none")
    assert done.cost_usd is None
    assert fake.requests[0]["model"] == "llama3.2" and fake.requests[0]["max_tokens"] == 5


def test_the_mock_response_needs_no_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_LLM_MOCK_RESPONSE", '{"city": "Rome", "population": 1}')
    assert complete_text("anything") == '{"city": "Rome", "population": 1}'
    done = complete("anything", model="openai/gpt-4o-mini", schema=Answer)
    assert done.value == Answer(city="Rome", population=1) and done.mocked and done.requests == 0
    assert done.model.resolved == "openai/gpt-4o-mini"


def test_complete_text_resolves_and_calls_like_llm(
    oai: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITARU_DEFAULT_MODEL", "gpt")
    oai.reply_text("summary")
    assert complete_text("Summarize this", system="Be short.") == "summary"
    assert oai.requests[0]["messages"][0] == {"role": "system", "content": "Be short."}


_BLOCKED = """
import sys
sys.modules[{module!r}] = None  # as if the package were not installed
from kitaru.providers import complete
try:
    complete("hi", model={model!r})
except ImportError as exc:
    print(exc)
"""


@pytest.mark.parametrize(
    ("module", "model"),
    [
        ("openai", "openai/gpt-4o-mini"),
        ("anthropic", "anthropic/claude-3-5-haiku-latest"),
        ("genai_prices", "openai/gpt-4o-mini"),
    ],
)
def test_a_missing_sdk_names_the_extra(module: str, model: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with openai_server() as fake, anthropic_server() as afake:
        env = {
            "PATH": "/usr/bin:/bin",
            "KITARU_HOME": str(tmp_path / "home"),
            "OPENAI_API_KEY": "k",
            "ANTHROPIC_API_KEY": "k",
            "OPENAI_BASE_URL": fake.url + "/v1",
            "ANTHROPIC_BASE_URL": afake.url,
            "PYTHONPATH": __import__("os").environ.get("PYTHONPATH", ""),
        }
        done = subprocess.run(
            [sys.executable, "-c", _BLOCKED.format(module=module, model=model)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert "pip install 'kitaru[llm]'" in done.stdout
