"""Every page has an icon, and a browser asking for /favicon.ico gets one: no 404 in any page's log."""

import re
import urllib.request

from django.templatetags.static import static


def fetch(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:  # follows redirects
        return response.status, response.headers.get_content_type(), response.read(), response.url


def test_favicon_ico_and_the_pages_icon_link_are_served_as_svg(live_server, transactional_db, appeal_types):
    status, content_type, body, final_url = fetch(f"{live_server.url}/favicon.ico")
    assert status == 200 and content_type == "image/svg+xml"
    assert final_url == f"{live_server.url}{static('favicon.svg')}"
    assert body.lstrip().startswith(b"<svg") and b"</svg>" in body

    for path in ("/", "/accounts/login/"):
        _status, _type, page, _url = fetch(f"{live_server.url}{path}")
        (href,) = re.findall(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page.decode())
        status, content_type, icon, _url = fetch(f"{live_server.url}{href}")
        assert status == 200 and content_type == "image/svg+xml" and icon == body
