import base64
import json

import pytest
from ansible.errors import AnsibleFilterError

from filter_loader import load_filter_module

mod = load_filter_module("jwt_claims")
claims = mod.jwt_claims


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _token(payload):
    header = _b64(json.dumps({"alg": "RS256", "kid": "x"}).encode())
    return "%s.%s.%s" % (header, _b64(json.dumps(payload).encode()), _b64(b"signature"))


def test_reads_issuer_and_audience_list():
    token = _token({"iss": "kubernetes/serviceaccount", "aud": ["spire-server"], "sub": "system:serviceaccount:default:x"})
    result = claims(token + "\n")
    assert result["iss"] == "kubernetes/serviceaccount"
    assert result["aud"] == ["spire-server"]


@pytest.mark.parametrize("aud,expected", [("api", ["api"]), (None, [])])
def test_audience_normalised_to_list(aud, expected):
    payload = {"iss": "x"}
    if aud is not None:
        payload["aud"] = aud
    assert claims(_token(payload))["aud"] == expected


def test_padding_lengths():
    for size in range(1, 6):
        assert claims(_token({"iss": "i" * size}))["iss"] == "i" * size


@pytest.mark.parametrize("token,needle", [
    ("abc", "three dot-separated"),
    ("a..c", "three dot-separated"),
    ("a.!!!!.c", "not base64url"),
    ("a.%s.c" % _b64(b"[1, 2]"), "not an object"),
    (42, "as a string"),
])
def test_malformed(token, needle):
    with pytest.raises(AnsibleFilterError, match=needle):
        claims(token)
