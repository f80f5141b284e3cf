"""Drives the iflowd monitor in headless Chromium, through a chromedriver the caller started.

    monitor_browser.py BASE_URL WEBDRIVER_URL --user U --password P --screenshots DIR

It opens BASE_URL/monitor/, logs in with the form, and then talks with its caller over standard
input and output, one line each way, so that the caller (tests/it/monitor_browser.rs) sends the
messages while the page is open:

    -> {"ready": "live"}                       the list is open; send the messages now
    <- {"normal": ID, "hostile": ID, "failed": ID, "hostile_ext": EXT, "user_id": U}
                                               the externalEventIds of what was sent

It waits (bounded) for the three to appear in the open list without a reload, filters the list,
opens the failed message, presses Replay and reads the new message's page (until its first
attempt has ended), then opens the hostile message, and prints one JSON object with what it saw:
the caller asserts. Screenshots of the list, of the failed message and of its replay go to DIR. Exit 1 with
{"error": ...} when a step fails.
"""

import argparse
import json
import os
import sys
import tempfile
import traceback

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

# Bounds for each wait: the list polls every 2 s, a cold Chromium on a busy machine is slow.
WAIT_S = 30


def browser(webdriver_url, profile):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("IFLOWD_CHROMIUM", "/usr/bin/chromium")
    # As root on a closed network Chromium needs these, or its connections are refused.
    for flag in [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1400,1000", "--user-data-dir=" + profile,
    ]:
        options.add_argument(flag)
    return webdriver.Remote(command_executor=webdriver_url, options=options)


def talk(message):
    print(json.dumps(message), flush=True)
    line = sys.stdin.readline()
    if not line:
        raise RuntimeError("the test closed standard input")
    return json.loads(line)


def loaded(driver, url_part):
    """Waits until the browser shows a page whose URL has `url_part`, fully loaded. (Every filter
    is in the form, so only a part with a value tells the new page from the old one.)"""
    WebDriverWait(driver, WAIT_S).until(
        lambda d: url_part in d.current_url
        and d.execute_script("return document.readyState;") == "complete"
    )


def wait_for_text(driver, css, text):
    WebDriverWait(driver, WAIT_S).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))


def rows(driver):
    """(status, externalEventId, message id) of each row of the list, read in one step: the live
    list may replace its rows at any moment."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('table.messages tbody tr')).map("
        "  tr => [1, 4, 7].map(i => tr.cells[i].textContent.trim()));"
    )


def open_message(driver, external_id):
    """Filters the list by externalEventId over all times and opens the one row."""
    form = driver.find_element(By.CSS_SELECTOR, "form.filters")
    Select(form.find_element(By.NAME, "status")).select_by_value("")
    Select(form.find_element(By.NAME, "period")).select_by_value("all")
    for name in ["type", "user", "ext"]:
        form.find_element(By.NAME, name).clear()
    form.find_element(By.NAME, "ext").send_keys(external_id)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    loaded(driver, "ext=" + external_id)
    wait_for_text(driver, "#live", external_id)
    driver.find_element(By.CSS_SELECTOR, "table.messages td.id a").click()
    WebDriverWait(driver, WAIT_S).until(EC.presence_of_element_located((By.CSS_SELECTOR, "dl.fields")))


def scenario(driver, args):
    seen = {}
    title_before = None
    driver.get(args.base + "/monitor/")
    seen["login_url"] = driver.current_url
    driver.find_element(By.NAME, "user").send_keys(args.user)
    driver.find_element(By.NAME, "password").send_keys(args.password)
    driver.find_element(By.CSS_SELECTOR, "main.login button[type=submit]").click()
    WebDriverWait(driver, WAIT_S).until(EC.presence_of_element_located((By.ID, "live")))
    seen["after_login_url"] = driver.current_url
    title_before = driver.title
    # Survives only while the page is not reloaded.
    driver.execute_script("window.iflowdMarker = 'kept';")

    sent = talk({"ready": "live"})
    for key in ["normal", "hostile_ext", "failed"]:
        wait_for_text(driver, "#live", sent[key])
    seen["marker_after_live_update"] = driver.execute_script("return window.iflowdMarker || null;")
    seen["rows_live"] = rows(driver)
    driver.save_screenshot(os.path.join(args.screenshots, "list.png"))

    # Filter: FAILED only (a page load through the form).
    form = driver.find_element(By.CSS_SELECTOR, "form.filters")
    Select(form.find_element(By.NAME, "status")).select_by_value("FAILED")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    loaded(driver, "status=FAILED")
    seen["rows_failed"] = rows(driver)
    # Filter: the userId of the normal message.
    Select(driver.find_element(By.NAME, "status")).select_by_value("")
    user = driver.find_element(By.NAME, "user")
    user.send_keys(sent["user_id"])
    driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    loaded(driver, "user=" + sent["user_id"])
    seen["rows_user"] = rows(driver)

    # The failed message: its error and its laid-out request.
    driver.get(args.base + "/monitor/?period=all")
    open_message(driver, sent["failed"])
    seen["failed_url"] = driver.current_url
    seen["failed_error"] = driver.find_element(By.CSS_SELECTOR, "pre.error-text").text
    seen["failed_handler"] = driver.find_element(By.CSS_SELECTOR, "ol.timeline .error p").text
    seen["xml_elements"] = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#request pre.xml .x-e")][:8]
    seen["events_kinds"] = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "table.events tbody td:nth-child(2)")]
    # More than the window: as tall as the document, up to the answer's beginning.
    height = driver.execute_script("return document.documentElement.scrollHeight;")
    driver.set_window_size(1400, min(max(height, 1000), 1800))
    driver.save_screenshot(os.path.join(args.screenshots, "detail.png"))
    driver.set_window_size(1400, 1000)

    # Replay it: the button leads to the new message, which names the original; its first
    # attempt fails as the original did, and the timeline shows when the next one is due.
    driver.find_element(By.ID, "replay").click()
    loaded(driver, "notice=replayed")
    seen["replay_url"] = driver.current_url
    seen["replay_notice"] = driver.find_element(By.CSS_SELECTOR, "p.notice").text
    seen["replay_original"] = driver.find_element(By.CSS_SELECTOR, "#original a").get_attribute("href")

    def retry_shown(d):
        # The attempt runs in the background: look again until it has ended (bounded).
        if d.find_elements(By.CSS_SELECTOR, "ol.timeline .next"):
            return True
        d.refresh()
        return False

    WebDriverWait(driver, WAIT_S, poll_frequency=0.5).until(retry_shown)
    seen["replay_status"] = driver.find_element(By.CSS_SELECTOR, "h1 .status").text
    seen["replay_attempt"] = driver.find_element(By.CSS_SELECTOR, "ol.timeline .attempt").text
    seen["replay_next"] = driver.find_element(By.CSS_SELECTOR, "ol.timeline .next").text
    height = driver.execute_script("return document.documentElement.scrollHeight;")
    driver.set_window_size(1400, min(max(height, 1000), 1400))
    driver.save_screenshot(os.path.join(args.screenshots, "replay.png"))
    driver.set_window_size(1400, 1000)

    # The hostile message: nothing of its payload runs, and it reads as text.
    driver.get(args.base + "/monitor/?period=all")
    open_message(driver, sent["hostile_ext"])
    seen["hostile_url"] = driver.current_url
    seen["title_before"] = title_before
    seen["title_after"] = driver.title
    seen["pwned_elements"] = len(driver.find_elements(By.ID, "pwned"))
    seen["injected_images"] = len(driver.find_elements(By.CSS_SELECTOR, "main img"))
    seen["user_cell"] = driver.find_element(By.CSS_SELECTOR, "table.events td.user").text
    seen["params_text"] = driver.find_element(By.CSS_SELECTOR, "table.events tbody td:nth-child(6)").text
    return seen


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("webdriver")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--screenshots", required=True)
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    stale = os.path.join(args.screenshots, "failure.png")
    if os.path.exists(stale):
        os.remove(stale)
    with tempfile.TemporaryDirectory(prefix="iflowd-chromium-") as profile:
        driver = browser(args.webdriver, profile)
        try:
            seen = scenario(driver, args)
        except Exception as error:  # report, do not hide: the caller shows it
            try:
                driver.save_screenshot(os.path.join(args.screenshots, "failure.png"))
                page = driver.page_source[:4000]
            except Exception:
                page = None
            print(json.dumps({"error": repr(error), "trace": traceback.format_exc(), "page": page}), flush=True)
            return 1
        finally:
            driver.quit()
    print(json.dumps(seen), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
