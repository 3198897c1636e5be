#!/usr/bin/python3
"""A whole day through the office console, in headless Chromium driven by Selenium.

Started by integration/console.sh, which makes the nodes (a township with clerk and leader, a
county with its people, the dev PKI, an NSS database trusting the county CA) and the data. This
script starts the two consoles itself (the township's is restarted on later training clocks to
close the village notices, then the township notice), plays the day step by step (one plain function per step), and checks along
the way. Each page visited is kept (its source under OUT/pages/), each main page photographed
(OUT/*.png, and DOCS/*.png with --docs). Ends with `console day: N checks passed, M failed`.

Run with Debian's /usr/bin/python3 (python3-selenium)."""

import argparse
import base64
import csv
import glob
import http.cookiejar
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

# The township's training clock (two notices, docs/conventions.md (t)): the villages' meetings
# are recorded and their notices opened on OPEN_DAY; the township's console is restarted on their
# earliest close date (read from the page), where they are closed and the township notice is
# opened; restarted again on that one's earliest close date, it is closed and the roster built
# (about 2026-11-16). The county's console runs on COUNTY_DAY, after it; the bank pays on
# BANK_DAY, and the county's console, restarted on RECEIVE_DAY, reads the results.
OPEN_DAY = "2026-11-02"
COUNTY_DAY = "2026-11-23"
BANK_DAY = "2026-11-24"
RECEIVE_DAY = "2026-11-25"


class StepFailed(Exception):
    """A step cannot go on; `counted` when the failed check was already counted."""
    def __init__(self, what, counted=False):
        super().__init__(what)
        self.counted = counted


class Day:
    def __init__(self, args):
        self.args = args
        self.work = args.work
        self.out = args.out
        self.pages_dir = os.path.join(self.out, "pages")
        os.makedirs(self.pages_dir, exist_ok=True)
        self.passed = 0
        self.failed = 0
        self.visited = []   # (url, source file)
        self.step = "start"
        self.processes = {}
        self.base = {}
        self.driver = None
        self.secrets = os.path.join(self.work, "secrets")
        self.data = os.path.join(self.work, "data")
        self.register = glob.glob(os.path.join(self.data, "*-register.csv"))[0]
        self.applications = glob.glob(os.path.join(self.data, "*-applications.csv"))[0]
        self.corrected_accounts = []
        self.county_ca = os.path.join(self.work, "pki", "console-ca.crt")

    # ---- checks and records -------------------------------------------------------------

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print(f"   ✓ {what}")
        else:
            self.failed += 1
            where = self.save_source("failed")
            print(f"   ✗ {what}（步骤：{self.step}；页面源码：{where}）")
        return ok

    def require(self, ok, what):
        if not self.check(ok, what):
            raise StepFailed(what, counted=True)

    def save_source(self, tag):
        if self.driver is None:
            return "-"
        n = len(os.listdir(self.pages_dir)) + 1
        path = os.path.join(self.pages_dir, f"{n:03d}-{slug(self.step)}-{tag}.html")
        try:
            source = self.driver.page_source
            url = self.driver.current_url
        except WebDriverException:
            return "-"
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"<!-- {url} -->\n" + source)
        self.visited.append((url, path))
        return path

    def password(self, node, login):
        with open(os.path.join(self.secrets, f"{os.path.basename(node)}-{login}.pw"), encoding="utf-8") as f:
            return f.read().strip()

    # ---- processes --------------------------------------------------------------------------

    def start_console(self, key, node, clock):
        """Starts `ykt console` for NODE on CLOCK (YKT_CLOCK) and waits for its port."""
        self.stop_console(key)
        port_file = os.path.join(node, "console.port")
        if os.path.exists(port_file):
            os.remove(port_file)
        env = dict(os.environ, YKT_CLOCK=clock)
        log = open(os.path.join(self.work, f"console-{key}.log"), "ab")
        p = subprocess.Popen([self.args.ykt, "console", "--node", node], env=env, stdout=log, stderr=log)
        self.processes[key] = p
        for _ in range(200):
            if os.path.exists(port_file) and open(port_file).read().strip():
                port = open(port_file).read().strip()
                host = "https://127.0.0.1" if key == "county" else "http://localhost"
                self.base[key] = f"{host}:{port}"
                return
            if p.poll() is not None:
                raise StepFailed(f"ykt console ({key}) exited: see {log.name}")
            time.sleep(0.05)
        raise StepFailed(f"ykt console ({key}) reported no port within 10 s")

    def stop_console(self, key):
        p = self.processes.pop(key, None)
        if p is not None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def ykt(self, *args, input=None):
        r = subprocess.run([self.args.ykt, *args], capture_output=True, text=True, input=input)
        return r

    def start_browser(self):
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1366,768", "--lang=zh-CN", "--disable-features=HttpsUpgrades",
                  f"--user-data-dir={os.path.join(self.work, 'browser-profile')}"]:
            options.add_argument(a)
        # HOME holds the NSS database that trusts the county's dev CA (made by console.sh).
        env = dict(os.environ, HOME=self.args.browser_home)
        service = Service("/usr/bin/chromedriver", env=env)
        self.driver = webdriver.Chrome(service=service, options=options)
        # Screenshots of exactly 1366×768 whatever the window decorations.
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": False})
        self.driver.set_page_load_timeout(60)

    def close(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            except WebDriverException:
                pass
        for key in list(self.processes):
            self.stop_console(key)

    # ---- pages ------------------------------------------------------------------------------

    def visit(self, key, path, shot=None):
        self.driver.get(self.base[key] + path)
        return self.seen(shot)

    def seen(self, shot=None):
        """Keeps the page now shown (for the masking scan) and photographs it as SHOT."""
        self.save_source("page")
        if shot:
            self.screenshot(shot)
        return self.driver.page_source

    def screenshot(self, name):
        png = os.path.join(self.out, f"{name}.png")
        self.driver.save_screenshot(png)
        if self.args.docs:
            os.makedirs(self.args.docs, exist_ok=True)
            self.driver.save_screenshot(os.path.join(self.args.docs, f"{name}.png"))

    def path(self):
        return urllib.parse.urlparse(self.driver.current_url).path

    def text(self):
        # Right after a form is sent the browser may be between pages (no body yet, or a body
        # the new page just replaced: Chrome then says "Node with given id does not belong to
        # the document"): wait for the page.
        deadline = time.time() + 10
        while True:
            try:
                return self.driver.find_element(By.TAG_NAME, "body").text
            except (NoSuchElementException, StaleElementReferenceException, WebDriverException) as e:
                gone = isinstance(e, (NoSuchElementException, StaleElementReferenceException)) or "does not belong to the document" in str(e)
                if not gone or time.time() > deadline:
                    raise
                time.sleep(0.2)

    def form(self, form_id):
        try:
            return self.driver.find_element(By.ID, form_id)
        except NoSuchElementException:
            raise StepFailed(f"no form #{form_id} on {self.driver.current_url}")

    def submit(self, form_id, fields=None, files=None, selects=None, checks=(), radios=None, button=None, shot=None):
        """Fills form FORM_ID (inputs by name, files by name, selects by name → visible text or
        value, checkboxes by name) and presses its submit button (the one whose text contains
        BUTTON, when given); returns the page the browser lands on."""
        form = self.form(form_id)
        for name, value in (fields or {}).items():
            el = form.find_element(By.NAME, name)
            el.clear()
            el.send_keys(value)
        for name, path in (files or {}).items():
            form.find_element(By.NAME, name).send_keys(path)
        for name, value in (selects or {}).items():
            el = form.find_element(By.NAME, name)
            options = el.find_elements(By.TAG_NAME, "option")
            chosen = [o for o in options if o.get_attribute("value") == value or o.text.strip() == value
                      or value in o.text]
            if not chosen:
                raise StepFailed(f"#{form_id} {name}: no option {value!r} (have {[o.text for o in options]})")
            chosen[0].click()
        for name in checks:
            for box in form.find_elements(By.NAME, name):
                if not box.is_selected():
                    box.click()
        for name, value in (radios or {}).items():
            form.find_element(By.CSS_SELECTOR, f"input[type=radio][name='{name}'][value='{value}']").click()
        buttons = form.find_elements(By.CSS_SELECTOR, "button[type=submit], input[type=submit], button:not([type])")
        if button:
            buttons = [b for b in buttons if button in (b.text or b.get_attribute("value") or "")]
        if not buttons:
            raise StepFailed(f"#{form_id}: no submit button {button or ''}")
        buttons[0].click()
        self.replaced(form)
        return self.seen(shot)

    def replaced(self, form):
        """Waits (up to 10 s) until the answer to FORM's submission has replaced the page: the
        form is gone from the document."""
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                form.is_enabled()
            except StaleElementReferenceException:
                return
            except WebDriverException as e:   # Chrome's word for a node the new page replaced
                if "does not belong to the document" in str(e):
                    return
                raise
            time.sleep(0.1)

    def login(self, key, node, login):
        """Logs LOGIN in on console KEY (after dropping the session the browser had there)."""
        self.driver.get(self.base[key] + "/login")
        self.driver.delete_all_cookies()
        self.driver.get(self.base[key] + "/login")
        self.seen()
        form = self.driver.find_element(By.CSS_SELECTOR, "form.login")
        form.find_element(By.NAME, "login").send_keys(login)
        form.find_element(By.NAME, "password").send_keys(self.password(node, login))
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        # Read the page only once the answer has replaced the login form (the check raced it).
        self.replaced(form)
        self.seen()
        self.require(self.path() != "/login" and login in self.text(), f"{login} 登录{key_name(key)}工作台")

    def fetch(self, key, method, path, form=None, origin=True):
        """A request outside the browser, with the browser's session cookie: (status, body)."""
        cookie = self.driver.get_cookie("ykt_session")
        headers = {"Cookie": f"ykt_session={cookie['value']}"} if cookie else {}
        if origin:
            headers["Origin"] = self.base[key]
        data = urllib.parse.urlencode(form or {}).encode() if method == "POST" else None
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.base[key] + path, data=data, method=method, headers=headers)
        ctx = ssl.create_default_context(cafile=self.county_ca) if key == "county" else None
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx), NoRedirect())
        try:
            with opener.open(req, timeout=30) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def sync_button(self):
        """The clerk presses 立即同步 on the home page and waits for the round to finish."""
        self.visit("township", "/")
        self.submit("sync-now", button="立即同步") if self.has("sync-now") else self.press("立即同步")
        deadline = time.time() + 90
        while time.time() < deadline:
            body = self.text()
            if "同步完成。" in body or "[YKT-" in body:
                break
            time.sleep(0.5)
            self.driver.get(self.base["township"] + "/sync")
        self.seen("township-sync")
        self.require("同步完成。" in self.text(), "立即同步：同步完成")

    def wait_for(self, element_id, seconds=60):
        """Waits on a page that refreshes itself (an import's progress) until ELEMENT_ID shows."""
        deadline = time.time() + seconds
        while not self.has(element_id) and time.time() < deadline:
            time.sleep(0.3)
            if not self.has(element_id):
                self.driver.get(self.driver.current_url)
        return self.seen()

    def has(self, element_id):
        return bool(self.driver.find_elements(By.ID, element_id))

    def press(self, label):
        buttons = [b for b in self.driver.find_elements(By.CSS_SELECTOR, "form button[type=submit]") if label in b.text]
        if not buttons:
            raise StepFailed(f"no button {label} on {self.driver.current_url}")
        buttons[0].click()
        return self.seen()

    def first_link(self, pattern):
        """The path of the first link on the page whose href matches PATTERN."""
        for a in self.driver.find_elements(By.CSS_SELECTOR, "a[href]"):
            path = urllib.parse.urlparse(a.get_attribute("href")).path
            if re.fullmatch(pattern, path):
                return path
        raise StepFailed(f"no link matching {pattern} on {self.driver.current_url}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "step"


def key_name(key):
    return "县财政" if key == "county" else "乡镇"


def luhn(body):
    s = 0
    for i, d in enumerate(reversed(body)):
        v = int(d)
        if i % 2 == 0:
            v *= 2
            v = v - 9 if v > 9 else v
        s += v
    return body + str((10 - s % 10) % 10)


# ---- the day, step by step -------------------------------------------------------------------

def clerk_imports_register(d):
    """乡镇经办人登录，导入有一行错误的底册（整批不导入），改正后导入"""
    d.start_console("township", d.args.township, OPEN_DAY)
    d.login("township", d.args.township, "clerk")
    d.visit("township", "/", shot="township-home")
    d.visit("township", "/import", shot="township-import")
    bad = os.path.join(d.work, "register-bad.csv")
    d.submit("import-upload", files={"file": bad})
    d.wait_for("import-outcome")
    d.screenshot("township-import-error")
    cells = d.driver.find_elements(By.CSS_SELECTOR, "#import-problems td.bad")
    d.check(len(cells) == 1 and cells[0].get_attribute("data-field") == "身份证号", "底册有错行：标出出错的单元格（身份证号）")
    d.check("[YKT-" in d.text() and "没有导入任何一行" in d.text(), "底册有错行：给出错误代码，一行也没有导入")
    d.visit("township", "/register")
    d.check(count_rows(d) == 0, "底册有错行：底册仍是空的")
    d.visit("township", "/import")
    d.submit("import-upload", files={"file": d.register})
    d.wait_for("import-outcome")
    with open(d.register, encoding="utf-8-sig") as f:
        people = len(list(csv.reader(f))) - 1
    d.check(f"导入补贴对象 {people} 条" in d.text(), f"改正后导入 {people} 人")
    d.visit("township", "/register", shot="township-register")
    d.check(count_rows(d) == people, f"底册 {people} 人")
    # Looking someone up by the whole ID typed in: found, and the ID not written back into the page.
    with open(d.register, encoding="utf-8-sig") as f:
        someone = list(csv.DictReader(f))[2]
    d.driver.find_element(By.CSS_SELECTOR, "#register-search input[name=q]").send_keys(someone["身份证号"])
    d.driver.find_element(By.CSS_SELECTOR, "#register-search button[type=submit]").click()
    d.seen()
    d.check(count_rows(d) == 1 and someone["姓名"] in d.text(), "按完整身份证号查到此人")
    # The audited full view is the one page that shows a whole ID (and proves the scan can see one).
    person = d.first_link(r"/register/\d+")
    d.visit("township", person, shot="township-person")
    d.visit("township", person + "/full")
    shown = d.driver.find_elements(By.ID, "full-resident-id")
    d.full_ids = [e.text for e in shown]
    d.check(len(shown) == 1 and re.fullmatch(r"\d{17}[\dX]", shown[0].text) is not None, "「查看完整信息」页显示完整身份证号")
    views = subprocess.run(["sqlite3", os.path.join(d.args.township, "township.db"),
                            "SELECT count(*) FROM audit WHERE action = 'personal-data.view' AND operator = 'clerk'"],
                           capture_output=True, text=True).stdout.strip()
    d.check(views == "1", f"查看完整信息记入审计日志（personal-data.view：{views} 条）")


def count_rows(d):
    m = re.search(r"共 (\d+) 条", d.text())
    return int(m.group(1)) if m else 0


def clerk_records_applications(d):
    """经办人导入申请名单（村评议结果一并导入）"""
    d.visit("township", "/applications/import")
    d.submit("application-import", files={"file": d.applications})
    d.wait_for("import-outcome")
    d.check("错误 0 行" in d.text(), "申请名单导入，无错误行")
    d.visit("township", "/applications?program=GD01", shot="township-applications")
    d.check(count_rows(d) > 0, f"GD01 申请 {count_rows(d)} 条")


def gd01_villages(d):
    """The villages (村（社区）of the register) of the GD01 2026 applications."""
    with open(d.register, encoding="utf-8-sig") as f:
        village = {r["身份证号"]: r["村（社区）"] for r in csv.DictReader(f)}
    with open(d.applications, encoding="utf-8-sig") as f:
        return sorted({village[a["身份证号"]] for a in csv.DictReader(f)
                       if a["项目编码"] == "GD01" and a["期次"] == "2026" and a["身份证号"] in village})


def earliest_closes(d):
    """The earliest close dates the home page's 今日待办 names for the open notices."""
    d.visit("township", "/")
    return re.findall(r"(\d{4}-\d{2}-\d{2}) 起可以结束", d.text())


def clerk_opens_village_notices(d):
    """经办人登记各村村民代表会议评议，张贴村级公示（乡镇公示须等村级公示结束）"""
    d.visit("township", "/notices")
    d.submit("notice-open", fields={"period": "2026", "phone": "0772-6812345"}, selects={"program": "GD01"})
    d.check("YKT-NOTICE-EMPTY" in d.text() and "村级公示" in d.text(), "村级公示之前张贴乡镇公示：被拒绝（YKT-NOTICE-EMPTY）")
    d.visit("township", "/notices")
    d.submit("meeting-record", fields={"village": gd01_villages(d)[0], "period": "2026", "present": "10", "expected": "25",
                                       "outcome": "评议通过"}, selects={"program": "GD01"})
    d.check("[YKT-" in d.text() and "三分之二" in d.text(), "到会不足三分之二的会议：评议无效，不登记")
    d.villages = gd01_villages(d)
    d.require(len(d.villages) >= 1, f"GD01 申请来自 {len(d.villages)} 个村：{'、'.join(d.villages)}")
    d.village_notices = []
    for i, village in enumerate(d.villages):
        d.visit("township", "/notices")
        d.submit("meeting-record", fields={"village": village, "period": "2026", "present": "21", "expected": "25",
                                           "outcome": "评议通过，同意列入拟补贴对象名单"}, selects={"program": "GD01"})
        d.require(d.path() == "/notices" and "已登记村民代表会议" in d.text() and village in d.text(), f"登记{village}村民代表会议评议")
        if i == 0:
            d.screenshot("township-meeting")
        options = d.form("notice-open").find_elements(By.CSS_SELECTOR, "select[name=meeting] option")
        meeting = [o.text for o in options if f"：{village} GD01 2026" in o.text]
        d.require(len(meeting) == 1, f"张贴公示的表单可选{village}的评议会议")
        d.submit("notice-open", fields={"place": f"{village}村务公开栏", "phone": "0772-6812345"}, selects={"meeting": meeting[0]})
        d.require(re.fullmatch(r"/notices/\d+", d.path()) is not None and "已张贴村级公示" in d.text() and village in d.text(),
                  f"张贴{village}村级公示（拟补贴对象名单）")
        d.village_notices.append(d.path())
        if i == 0:
            d.screenshot("township-village-notice")
    closes = earliest_closes(d)
    d.require(len(closes) == len(d.villages), f"今日待办写明 {len(d.villages)} 个村级公示的最早结束日期（{'、'.join(closes)}）")
    d.village_close_day = max(closes)
    d.visit("township", d.village_notices[0])
    d.submit("notice-close")
    d.check("[YKT-" in d.text() and "最早可于" in d.text(), f"村级公示未满 5 个工作日不能结束（最早 {d.village_close_day}）")


def clerk_closes_village_notices(d):
    """5 个工作日后（工作台以那一天的时钟重启），经办人结束各村村级公示"""
    d.start_console("township", d.args.township, d.village_close_day)
    d.login("township", d.args.township, "clerk")
    for village, notice in zip(d.villages, d.village_notices):
        d.visit("township", notice)
        d.submit("notice-close")
        d.check("[YKT-" not in d.text() and "已于" in d.text() and "结束" in d.text(), f"{village}村级公示于 {d.village_close_day} 结束")


def clerk_opens_and_prints_notice(d):
    """经办人张贴乡镇公示（审核后的发放清册），打印预览并存为 PDF"""
    d.visit("township", "/notices")
    d.submit("notice-open", fields={"period": "2026", "phone": "0772-6812345", "place": "镇政府公告栏、各村村务公开栏"},
             selects={"program": "GD01"})
    d.require(re.fullmatch(r"/notices/\d+", d.path()) is not None and "已张贴乡镇公示" in d.text(), "村级公示结束后张贴乡镇公示")
    d.notice = d.path()
    d.screenshot("township-notice")
    d.visit("township", d.notice + "/print", shot="township-notice-print")
    pdf = d.driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True})
    path = os.path.join(d.out, "notice.pdf")
    with open(path, "wb") as f:
        f.write(base64.b64decode(pdf["data"]))
    text = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True).stdout
    d.pdf_text = text
    d.check("公示" in text and "GD01" not in text or "公示" in text, "打印的公示（PDF）有标题")
    d.check(re.search(r"\d{6}\*{8}\d{3}[\dX]", text) is not None, "打印的公示（PDF）有脱敏的身份证号")
    closes = earliest_closes(d)
    d.require(len(closes) == 1, f"今日待办写明乡镇公示最早结束日期（{'、'.join(closes)}）")
    d.close_day = closes[0]
    d.require(d.close_day < COUNTY_DAY, f"乡镇公示最早 {d.close_day} 结束，早于县里的工作日 {COUNTY_DAY}")
    d.visit("township", d.notice)
    d.submit("notice-close")
    d.check("[YKT-" in d.text() and "最早可于" in d.text(), f"公示未满 5 个工作日不能结束（最早 {d.close_day}）")


def clerk_closes_notice_and_builds_roster(d):
    """5 个工作日后（工作台以那一天的时钟重启），经办人结束公示，编制清册"""
    d.start_console("township", d.args.township, d.close_day)
    d.login("township", d.args.township, "clerk")
    d.visit("township", d.notice)
    d.submit("notice-close")
    d.check("已于" in d.text() and "结束" in d.text(), f"公示于 {d.close_day} 结束")
    d.visit("township", "/rosters")
    d.submit("roster-build", selects={"program": "GD01"}, fields={"period": "2026"})
    d.require(re.fullmatch(r"/rosters/\d+", d.path()) is not None and "已编制清册" in d.text(), "清册已编制（草稿）")
    d.roster = d.path()
    d.screenshot("township-roster")
    d.check(not d.has("roster-submit"), "经办人看不到「报送」按钮")
    # The summary table (汇总表): printed from the draft, signed by the two, then submitted.
    d.check(d.has("roster-summary"), "清册页有「打印汇总表」")
    d.visit("township", d.roster + "/summary", shot="township-summary-table")
    d.check("发放汇总表" in d.text() and "职能站所负责人（签字）" in d.text(), "汇总表：按村汇总，两人签字栏")


def leader_submits_roster(d):
    """乡镇领导登录，输入本人口令报送清册"""
    d.login("township", d.args.township, "leader")
    d.visit("township", d.roster)
    d.submit("roster-submit", fields={"password": "wrong-password-1"})
    d.check("YKT-AUTH" in d.text(), "口令不对时不报送")
    d.visit("township", d.roster)
    d.submit("roster-submit", fields={"password": d.password(d.args.township, "leader")})
    d.check("已报送" in d.text(), "乡镇领导签名报送清册")


def clerk_syncs(d):
    """经办人点「立即同步」"""
    d.login("township", d.args.township, "clerk")
    d.sync_button()


def refusals(d):
    """拒绝：乡镇没有县里的页面；缺少校验码的表单"""
    if "township" not in d.base:
        d.start_console("township", d.args.township, OPEN_DAY)
        d.login("township", d.args.township, "clerk")
    # A county page does not exist at a township.
    d.visit("township", "/approval")
    d.check("没有这个页面" in d.text(), "乡镇工作台没有县里的页面（审定）")
    status, _ = d.fetch("township", "GET", "/approval")
    d.check(status == 404, f"乡镇工作台 /approval 答 404（实为 {status}）")
    # A form without its CSRF token: refused, and nothing done.
    status, body = d.fetch("township", "POST", "/sync", form={})
    d.check(status == 403 and "CSRF" in body, f"缺少 CSRF 校验码的表单被拒绝（{status}）")
    d.driver.get(d.base["township"] + "/")
    d.driver.execute_script("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    d.press("立即同步")
    d.check("CSRF" in d.text(), "浏览器中去掉校验码后提交：被拒绝")


def county_reviews(d):
    """县里：业务主管部门审核人审核通过（本人口令）"""
    d.start_console("county", d.args.county, COUNTY_DAY)
    d.login("county", d.args.county, "nong-review")
    d.visit("county", "/", shot="county-home")
    d.visit("county", "/review", shot="county-review")
    roster = d.first_link(r"/rosters/\d+")
    d.county_roster = roster
    d.visit("county", roster, shot="county-roster")
    d.submit("roster-review", radios={"decision": "approve"}, fields={"password": d.password(d.args.county, "nong-review")})
    d.check("审核通过" in d.text() and "[YKT-" not in d.text(), "业务主管部门审核通过")


def county_approves(d):
    """县里：支付经办员不能审定；财政审定人审定（本人口令）"""
    d.login("county", d.args.county, "zhi-pay")
    d.visit("county", "/approval")
    d.check("无权办理" in d.text(), "支付经办员打开审定页：无权办理")
    status, _ = d.fetch("county", "GET", "/approval")
    d.check(status == 403, f"支付经办员 /approval 答 403（实为 {status}）")
    d.login("county", d.args.county, "cai-approve")
    d.visit("county", "/approval", shot="county-approval")
    d.submit("roster-approve", fields={"password": d.password(d.args.county, "cai-approve")}, checks=("rosters",))
    d.check("已审定清册" in d.text(), "财政审定（签名），生成支付批次")


def county_dispatches(d):
    """县里：支付经办员写出支付指令文件"""
    d.login("county", d.args.county, "zhi-pay")
    d.visit("county", "/batches", shot="county-batches")
    d.submit("batch-dispatch")
    d.check("已写出支付指令文件" in d.text(), "支付指令文件已写出")
    files = glob.glob(os.path.join(d.work, "banks", "RCC", "outbox", "YKT-PAY-*"))
    d.check(bool(files), "支付指令文件在银行的 outbox/ 中")


def bank_pays_with_failures(d):
    """代发银行（模拟）发放，部分失败；支付经办员读取回盘"""
    r = d.ykt("bank", "simulate", "--folder", os.path.join(d.work, "banks", "RCC"), "--bank", "RCC", "--seed", "5",
              "--fail", "closed=0.5", "--date", BANK_DAY)
    d.require(r.returncode == 0, "银行模拟发放（部分失败）")
    d.start_console("county", d.args.county, RECEIVE_DAY)
    d.login("county", d.args.county, "zhi-pay")
    d.visit("county", "/bank", shot="county-bank")
    d.submit("bank-receive")
    d.check("[YKT-" not in d.text() and "失败" in d.text(), "读取银行结果文件：有失败的支付")
    d.visit("county", "/reissue", shot="county-reissue")
    d.visit("county", "/payments", shot="county-payments")


def township_corrects(d):
    """乡镇同步收到结果，经办人更正一笔失败的发放（换新账户），再同步"""
    d.login("township", d.args.township, "clerk")
    d.sync_button()
    d.visit("township", "/payments", shot="township-payments")
    d.require(count_rows(d) > 0, "乡镇收到发放结果：有失败待更正")
    d.driver.get(d.base["township"] + d.first_link(r"/payments/\d+"))
    d.seen("township-payment-correct")
    account = luhn("622848" + "7000007919" + "00")
    d.corrected_accounts.append(account)
    d.submit("payment-correct", fields={"bank": "中国农业银行", "account": account, "confirmation": "QR-FIX-1"})
    d.check("已更正" in d.text(), "经办人更正失败的发放（新账户）")
    d.sync_button()


def county_reissues(d):
    """县里：支付经办员把乡镇已更正的失败支付生成补发批次（本人口令）"""
    d.login("county", d.args.county, "zhi-pay")
    d.visit("county", "/reissue", shot="county-reissue")
    d.submit("batch-reissue", fields={"password": d.password(d.args.county, "zhi-pay")})
    d.check("[YKT-" not in d.text() and "补发" in d.text(), "生成补发批次")


def no_unmasked_data(d):
    """No full resident ID or account number in any page but a /full one, nor in the PDF."""
    secrets = set(d.corrected_accounts)
    with open(d.register, encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        secrets.add(r["身份证号"])
        secrets.add(r["账号"])
    leaks = []
    for url, path in d.visited:
        if urllib.parse.urlparse(url).path.endswith("/full"):
            continue
        with open(path, encoding="utf-8") as f:
            f.readline()   # the address, written first by save_source, is not the page
            source = f.read()
        for s in secrets:
            if s and s in source:
                leaks.append(f"{url}（{path}）：{s[:4]}…")
    full = [path for url, path in d.visited if urllib.parse.urlparse(url).path.endswith("/full")]
    seen = any(s in open(path, encoding="utf-8").read() for path in full for s in secrets)
    d.check(seen, f"检查本身能发现完整号码：{len(full)} 个 /full 页面中有完整号码")
    d.check(not leaks, f"{len(d.visited)} 个页面中没有完整的身份证号或账号" + ("：" + "；".join(leaks[:5]) if leaks else ""))
    pdf = getattr(d, "pdf_text", None)
    if pdf is not None:
        d.check(not any(s in pdf for s in secrets), "打印的公示（PDF）中没有完整的身份证号或账号")


def county_supervision(d):
    """县里：审计查询人看预警、冲突、乡镇、审计日志、月报；投诉受理人为来人查询"""
    d.login("county", d.args.county, "shen-audit")
    for path, shot in [("/warnings", "county-warnings"), ("/conflicts", "county-conflicts"), ("/townships", "county-townships"),
                       ("/audit", "county-audit"), ("/reports/monthly", "county-report-monthly"), ("/payments", None)]:
        d.visit("county", path, shot=shot)
        d.check("[YKT-" not in d.text() and "无权办理" not in d.text(), f"审计查询人打开 {path}")
    d.login("county", d.args.county, "tou-su")
    with open(d.register, encoding="utf-8-sig") as f:
        someone = list(csv.DictReader(f))[0]
    d.visit("county", "/query")
    d.submit("query", fields={"id": someone["身份证号"], "name": someone["姓名"]}, shot="county-query")
    d.check("[YKT-" not in d.text() and someone["身份证号"][-4:] in d.text(), "投诉受理人为来人查询发放（脱敏显示）")


STEPS = [clerk_imports_register, clerk_records_applications, clerk_opens_village_notices, clerk_closes_village_notices,
         clerk_opens_and_prints_notice,
         clerk_closes_notice_and_builds_roster, leader_submits_roster, clerk_syncs, refusals,
         county_reviews, county_approves, county_dispatches, bank_pays_with_failures, township_corrects,
         county_reissues, county_supervision]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ykt", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--township", required=True)
    p.add_argument("--county", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--browser-home", required=True)
    p.add_argument("--docs")
    p.add_argument("--steps", help="only these steps, comma-separated (for working on the script)")
    args = p.parse_args()
    steps = [s for s in STEPS if not args.steps or s.__name__ in args.steps.split(",")]
    d = Day(args)
    started = time.time()
    try:
        d.start_browser()
        for step in steps:
            d.step = step.__name__
            print(f"== {step.__doc__.strip().splitlines()[0] if step.__doc__ else step.__name__}")
            try:
                step(d)
            except Exception as e:
                if not getattr(e, "counted", False):
                    d.check(False, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
                print(f"   此后的步骤依赖这一步，不再继续（{e}）")
                break
        d.step = "no_unmasked_data"
        print("== 脱敏检查")
        no_unmasked_data(d)
    finally:
        d.close()
    print(f"   用时 {time.time() - started:.0f} 秒；页面 {len(d.visited)} 个，源码在 {d.pages_dir}")
    print(f"console day: {d.passed} checks passed, {d.failed} failed")
    sys.exit(0 if d.failed == 0 else 1)


if __name__ == "__main__":
    main()
