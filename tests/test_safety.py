"""Which URLs may be fetched: only http(s), only public addresses, checked after DNS."""

import ipaddress

import pytest

from samizdat.fetch.resolver import Resolver
from samizdat.fetch.safety import UnsafeURL, check_scheme, is_public_address, safe_address
from samizdat.pools import Pool


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "224.0.0.1",
        "198.18.0.1",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/", "gopher://x/", "javascript:alert(1)"]
)
def test_only_http_and_https(url):
    with pytest.raises(UnsafeURL):
        check_scheme(url)


async def test_a_name_resolving_to_loopback_is_refused():
    with pytest.raises(UnsafeURL, match="private or reserved"):
        await safe_address(
            "http://localhost:8080/", allow_private=False, resolver=Resolver(Pool("lookups", 1))
        )


async def test_one_private_answer_among_public_ones_is_enough_to_refuse():
    async def resolver(host, port):
        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.5")]

    with pytest.raises(UnsafeURL):
        await safe_address("https://news.example/a", allow_private=False, resolver=resolver)


async def test_operator_may_allow_private_networks():
    host, address = await safe_address(
        "http://127.0.0.1:9/", allow_private=True, resolver=Resolver(Pool("lookups", 1))
    )
    assert (host, str(address)) == ("127.0.0.1", "127.0.0.1")
