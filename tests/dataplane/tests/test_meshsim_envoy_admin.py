"""Envoy's admin address, read from its --admin-address-path file while Envoy starts.

Envoy creates the file before it writes the address into it. meshsim once took an empty read for the address
("http://"), and the next admin call failed with "no host given" (a start-up race seen in a loaded CI run):
only a whole 127.0.0.1:port may count.
"""

import pytest

from meshsim_lib import envoy


@pytest.mark.parametrize("text", ["", "\n", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:99999",
                                  "0.0.0.0:9901", "10.0.0.1:9901", "localhost:9901", "127.0.0.1:99 01"])
def test_an_incomplete_or_foreign_address_is_not_yet_the_admin_url(text):
    assert envoy.admin_url(text) is None


@pytest.mark.parametrize("text,url", [("127.0.0.1:9901", "http://127.0.0.1:9901"),
                                      ("127.0.0.1:40123\n", "http://127.0.0.1:40123")])
def test_a_whole_loopback_address_is_the_admin_url(text, url):
    assert envoy.admin_url(text) == url
