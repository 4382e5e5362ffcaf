# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: jwt_claims
short_description: Read the claims of a JSON Web Token without verifying it
version_added: 0.1.0
author: meshlab.canary maintainers
description:
  - Decodes the payload (second part) of a compact JWT such as a projected Kubernetes
    service-account token and returns its claims, so a play can check C(iss) and C(aud).
  - The signature is B(not) verified; use it only to inspect a token you obtained from the API server.
  - C(aud) is always returned as a list (RFC 7519 allows a single string).
options:
  _input:
    description: The token; surrounding whitespace is ignored.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Check the issuer of a projected token
  ansible.builtin.assert:
    that: (__token | meshlab.canary.jwt_claims).iss == 'kubernetes/serviceaccount'
"""

RETURN = r"""
_value:
  description: The token's claims.
  type: dict
"""

import base64
import binascii
import json

from ansible.errors import AnsibleFilterError


def jwt_claims(token):
    """Return the (unverified) claims of a compact JWT."""
    if not isinstance(token, str):
        raise AnsibleFilterError("jwt_claims: expected the token as a string, got %s" % type(token).__name__)
    parts = token.strip().split(".")
    if len(parts) != 3 or not parts[1]:
        raise AnsibleFilterError("jwt_claims: not a compact JWT (expected three dot-separated parts, got %d)" % len(parts))
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeError) as exc:
        raise AnsibleFilterError("jwt_claims: the payload is not base64url-encoded JSON: %s" % exc)
    if not isinstance(claims, dict):
        raise AnsibleFilterError("jwt_claims: the payload is JSON but not an object")
    aud = claims.get("aud")
    if aud is None:
        claims["aud"] = []
    elif isinstance(aud, str):
        claims["aud"] = [aud]
    return claims


class FilterModule(object):
    """meshlab.canary JWT inspection."""

    def filters(self):
        return {"jwt_claims": jwt_claims}
