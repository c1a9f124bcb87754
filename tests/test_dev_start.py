"""`./dev start --port N`: the sandbox's webhooks and the printed links follow the port."""

from __future__ import annotations

from devtools import demo, embedded


def test_the_public_base_url_follows_the_port_unless_it_is_set():
    assert embedded.web_environment(8765, {}) == {"PORT": "8765", "PUBLIC_BASE_URL": "http://localhost:8765"}
    assert embedded.web_environment(8000, {"PUBLIC_BASE_URL": ""})["PUBLIC_BASE_URL"] == "http://localhost:8000"
    tunnel = {"PUBLIC_BASE_URL": "https://dealercrm.example"}
    assert embedded.web_environment(8765, tunnel) == {"PORT": "8765", "PUBLIC_BASE_URL": "https://dealercrm.example"}


def test_the_banner_names_the_port_and_a_public_url_that_differs():
    assert embedded.running_banner(8765, "http://localhost:8765") == (
        "DealerCRM is running at http://localhost:8765 (Ctrl-C to stop)"
    )
    assert "PUBLIC_BASE_URL (webhooks, links) is https://dealercrm.example" in embedded.running_banner(
        8765, "https://dealercrm.example"
    )


def test_the_demo_prints_the_address_the_server_answers_on(settings):
    settings.PUBLIC_BASE_URL = "http://localhost:8765"
    assert demo.demo_url() == "http://localhost:8765/"
    settings.PUBLIC_BASE_URL = "http://localhost:8000"
    assert demo.demo_url() == demo.DEMO_URL
