"""Drives the web UI in Debian's Chromium through Playwright, against a running server.

Run by tests/e2e_ui.rs, which starts the server and a fake upstream. Every step asserts on what
the page shows; a screenshot of each page lands in --screenshots. Exits non-zero on the first
failure (Playwright's expect raises).
"""
import argparse
import json
import os
import re
import sys
import tempfile
import urllib.request

from playwright.sync_api import expect, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="an admin token")
    parser.add_argument("--upstream", required=True, help="the fake upstream serving hello.txt")
    parser.add_argument("--screenshots", required=True)
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    base = args.base.rstrip("/")

    def shot(page, name):
        page.screenshot(path=os.path.join(args.screenshots, f"{name}.png"), full_page=True)

    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path="/usr/bin/chromium",
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(15000)
        # Every confirm() (evict, revoke) is accepted, as a person clicking OK.
        context.on("page", lambda pg: pg.on("dialog", lambda d: d.accept()))
        page = context.pages[0] if context.pages else context.new_page()
        page.on("dialog", lambda d: d.accept())

        # Anonymous reading: the root leads to the repositories, the first Tab reaches the skip link.
        page.goto(base + "/")
        expect(page).to_have_url(re.compile(r"/ui/repositories$"))
        expect(page.get_by_role("heading", name="Repositories")).to_be_visible()
        expect(page.get_by_text("Anonymous")).to_be_visible()
        page.keyboard.press("Tab")
        expect(page.locator(":focus")).to_have_text("Skip to content")
        shot(page, "01-repositories-anonymous")

        # Log in: a wrong token is refused at the field, the right one opens a session.
        page.get_by_role("link", name="Log in").click()
        page.get_by_label("API token").fill("aa_not-a-real-token")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#token-error")).to_contain_text("not valid")
        expect(page.get_by_label("API token")).to_have_attribute("aria-invalid", "true")
        shot(page, "02-login-error")
        page.get_by_label("API token").fill(args.token)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_text("Signed in as")).to_be_visible()
        cookies = {c["name"]: c for c in context.cookies()}
        session = cookies["aa_session"]
        assert session["httpOnly"], session
        assert session["sameSite"] == "Strict", session
        assert args.token not in session["value"], "the cookie must not carry the token"

        # Create a remote: first with a bad upstream URL (the API's message at its field).
        page.get_by_role("link", name="New repository").click()
        page.get_by_label("Name", exact=True).fill("ui-remote")
        page.get_by_label("Kind").select_option("remote")
        page.get_by_label("Package type").select_option("generic")
        page.get_by_label("Upstream URL").fill("ftp://nowhere.test")
        page.get_by_role("button", name="Create repository").click()
        expect(page.locator("#base_url-error")).to_contain_text("http")
        expect(page.get_by_label("Upstream URL")).to_have_attribute("aria-invalid", "true")
        shot(page, "03-repository-validation-error")
        page.get_by_label("Upstream URL").fill(args.upstream)
        page.get_by_role("button", name="Create repository").click()
        expect(page.get_by_role("heading", name="ui-remote")).to_be_visible()
        expect(page.get_by_role("status")).to_have_text("Saved.")
        expect(page.locator("pre.snippet").first).to_contain_text(base + "/api/v1/remote/ui-remote/")
        shot(page, "04-repository-detail")

        # Edit it: a bad TTL is refused at its field, a good one is saved and shown.
        page.get_by_role("link", name="Edit").click()
        page.get_by_label("Mutable TTL (seconds)", exact=True).fill("soon")
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#mutable_ttl-error")).to_contain_text("whole number")
        page.get_by_label("Mutable TTL (seconds)", exact=True).fill("60")
        page.get_by_label("Blocklist", exact=True).fill("[unclosed")
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#blocklist-error")).to_contain_text("invalid regex")
        page.get_by_label("Blocklist", exact=True).fill("\\.exe$")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text("Saved.")
        expect(page.locator("dl.props")).to_contain_text("60 s")
        expect(page.locator("dl.props")).to_contain_text("\\.exe$")

        # The list shows it and filters by kind.
        page.get_by_role("link", name="Repositories", exact=True).click()
        page.get_by_label("Kind").select_option("local")
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_text("No repositories match this filter.")).to_be_visible()
        page.get_by_label("Kind").select_option("remote")
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_role("link", name="ui-remote")).to_be_visible()
        shot(page, "05-repositories")

        # Events, live: a fetch through the remote appears without a reload.
        events = context.new_page()
        events.goto(base + "/ui/events")
        expect(events.locator("#events-status")).to_contain_text("Connected")
        with urllib.request.urlopen(base + "/api/v1/remote/ui-remote/hello.txt") as response:
            assert response.read() == b"hello from upstream\n"
        fetch_row = events.locator("#events-body tr", has_text="hello.txt").filter(has_text="fetch")
        expect(fetch_row).to_be_visible()
        expect(fetch_row).to_contain_text("ui-remote")
        shot(events, "06-events")

        # Objects: the cached copy is listed; evicting it removes it (and the event shows up).
        page.goto(base + "/ui/repositories/ui-remote/objects")
        row = page.locator("tbody tr", has_text="hello.txt")
        expect(row).to_be_visible()
        shot(page, "07-objects")
        row.get_by_role("button", name="Evict hello.txt").click()
        expect(page.get_by_role("status")).to_have_text("Evicted hello.txt.")
        expect(page.locator("tbody tr", has_text="hello.txt")).to_have_count(0)
        expect(events.locator("#events-body tr", has_text="evict")).to_be_visible()
        events.get_by_label("Kind").select_option("evict")
        expect(events.locator("#events-body tr", has_text="fetch")).to_be_hidden()
        shot(events, "08-events-filtered")

        # Stats and health.
        page.get_by_role("link", name="Stats").click()
        expect(page.get_by_role("heading", name="Stats")).to_be_visible()
        expect(page.locator("svg.chart")).to_be_visible()
        expect(page.locator("tbody tr", has_text="ui-remote")).to_be_visible()
        shot(page, "09-stats")
        page.get_by_role("link", name="Health").click()
        expect(page.locator("tbody tr", has_text="database")).to_contain_text("ok")
        expect(page.locator("tbody tr", has_text="blob_store")).to_contain_text("ok")
        shot(page, "10-health")

        # Tokens: a bad name is refused at its field; a good one shows its secret once; revoke it.
        page.get_by_role("link", name="Tokens").click()
        page.get_by_label("Name").fill("bad name")
        page.get_by_role("button", name="Create token").click()
        expect(page.locator("#token-name-error")).to_contain_text("characters")
        page.get_by_label("Name").fill("ci-bot")
        page.get_by_label("write").check()
        page.get_by_role("button", name="Create token").click()
        secret = page.locator("#issued-secret").inner_text()
        assert secret.startswith("aa_") and len(secret) > 40, secret
        expect(page.locator("tbody tr", has_text="ci-bot")).to_contain_text("read, write")
        shot(page, "11-token-created")
        request = urllib.request.Request(
            base + "/api/v2/repositories/ui-remote", headers={"Authorization": f"Bearer {secret}"}
        )
        with urllib.request.urlopen(request) as response:
            assert json.load(response)["name"] == "ui-remote"
        page.get_by_role("button", name="Revoke token ci-bot").click()
        expect(page.get_by_role("status")).to_have_text("Token ci-bot revoked.")
        expect(page.locator("tbody tr", has_text="ci-bot")).to_have_count(0)
        try:
            urllib.request.urlopen(request)
            raise AssertionError("a revoked token still works")
        except urllib.error.HTTPError as e:
            assert e.code == 401, e.code
        shot(page, "12-tokens")

        # The events page reached through the (htmx-boosted) navigation streams too.
        page.get_by_role("link", name="Events").click()
        expect(page.locator("#events-status")).to_contain_text("Connected")
        with urllib.request.urlopen(base + "/api/v1/remote/ui-remote/hello.txt") as response:
            response.read()
        expect(page.locator("#events-body tr", has_text="hello.txt").filter(has_text="fetch")).to_be_visible()
        page.get_by_role("link", name="Health").click()
        expect(page.get_by_role("heading", name="Health")).to_be_visible()

        # 375 px wide: nothing scrolls sideways.
        phone = context.new_page()
        phone.set_viewport_size({"width": 375, "height": 800})
        for path, name in [
            ("/ui/repositories", "13-phone-repositories"),
            ("/ui/repositories/ui-remote", "14-phone-repository"),
            ("/ui/tokens", "15-phone-tokens"),
        ]:
            phone.goto(base + path)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"{path} is {width}px wide at 375px"
            shot(phone, name)

        # Delete a repository through its confirmation page.
        page.goto(base + "/ui/new-repository")
        page.get_by_label("Name", exact=True).fill("ui-scratch")
        page.get_by_label("Kind").select_option("local")
        page.get_by_role("button", name="Create repository").click()
        expect(page.get_by_role("heading", name="ui-scratch")).to_be_visible()
        page.get_by_role("link", name="Delete").click()
        shot(page, "17-repository-delete")
        page.get_by_role("button", name="Delete ui-scratch").click()
        expect(page.get_by_role("status")).to_have_text("Repository ui-scratch deleted.")
        expect(page.get_by_role("link", name="ui-scratch")).to_have_count(0)

        # Log out: the session ends and the admin pages ask for a login again.
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(re.compile(r"/ui/login$"))
        page.goto(base + "/ui/events")
        expect(page).to_have_url(re.compile(r"/ui/login\?next="))
        context.close()

        # Without JavaScript, reading works.
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        plain = browser.new_context(java_script_enabled=False).new_page()
        plain.goto(base + "/ui/repositories")
        plain.get_by_role("link", name="ui-remote").click()
        expect(plain.get_by_role("heading", name="How to use")).to_be_visible()
        expect(plain.locator("pre.snippet").first).to_contain_text("/api/v1/remote/ui-remote/")
        plain.goto(base + "/ui/repositories/ui-remote/objects")
        expect(plain.get_by_label("Path prefix")).to_be_visible()
        shot(plain, "16-no-javascript")
        browser.close()
    print("ui browser test: every step passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
