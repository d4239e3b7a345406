"""Exchange codes and one-time link tokens, pure: the check character catches typos, codes
and tokens are derived the same on every retry and differ between batches and indexes."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.coupons.domain import codes as rules

SEED = bytes(range(32))
bodies = st.text(alphabet=rules.ALPHABET, min_size=rules.CODE_LENGTH, max_size=rules.CODE_LENGTH)


@given(bodies, st.integers(0, rules.CODE_LENGTH), st.sampled_from(rules.ALPHABET))
def test_the_check_character_catches_every_single_typo(body, position, other):
    code = body + rules.check_char(body)
    assert rules.is_valid_generated(code)
    if code[position] != other:
        typo = code[:position] + other + code[position + 1 :]
        assert not rules.is_valid_generated(typo)


def test_the_alphabet_has_nothing_to_misread():
    assert len(set(rules.ALPHABET)) == len(rules.ALPHABET) == 31
    assert not set("01ILO") & set(rules.ALPHABET)


def test_the_check_character_catches_every_swap_of_neighbours():
    caught = total = 0
    for n in range(2000):
        code = rules.exchange_code(SEED, "cb-x", n)
        for i in range(len(code) - 1):
            if code[i] != code[i + 1]:
                total += 1
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
                caught += not rules.is_valid_generated(swapped)
    assert caught == total > 20000


def test_codes_and_tokens_are_the_same_on_a_retry_and_differ_otherwise():
    codes = [rules.exchange_code(SEED, "cb-a", n) for n in range(1000)]
    assert codes == [rules.exchange_code(SEED, "cb-a", n) for n in range(1000)]
    assert len(set(codes)) == 1000
    assert rules.exchange_code(SEED, "cb-b", 0) != codes[0]
    assert rules.exchange_code(os.urandom(32), "cb-a", 0) != codes[0]
    mac = rules.link_mac(SEED, "cb-a", 3)
    assert mac == rules.link_mac(SEED, "cb-a", 3) and len(mac) == rules.MAC_CHARS
    token = rules.link_token("cb-a", 3, mac)
    assert rules.parse_link_token(token) == ("cb-a", 3, mac)
    assert rules.parse_link_token("cb-a-x-" + mac) is None


def test_what_a_customer_types_is_normalized():
    assert rules.normalize("ab-cd ef") == "ABCDEF"
    assert rules.normalize(" x\ty-z ") == "XYZ"
    assert rules.importable("ABCD") and not rules.importable("ABC") and not rules.importable("AB_CD")


def test_the_attempt_window_says_how_long_is_left():
    window, left = rules.attempt_window(rules.ATTEMPT_WINDOW_SECONDS * 10 + 100)
    assert (window, left) == (10, rules.ATTEMPT_WINDOW_SECONDS - 100)


def test_ten_import_chunks_of_the_longest_codes_fit_one_sqs_batch():
    import json

    from chalicelib.coupons.models import CodeChunk

    chunk = CodeChunk(
        shop="s" * 128,
        batch_id="cb-" + "x" * 26,
        chunk=39,
        first_index=9750,
        count=rules.IMPORT_CHUNK,
        codes=["Z" * 32] * rules.IMPORT_CHUNK,
    )
    size = len(json.dumps(chunk.model_dump(mode="json", exclude_none=True), separators=(",", ":")))
    assert 10 * size < 256 * 1024  # SendMessageBatch's total payload
