#!/usr/bin/python3
"""A resident and a villager on the public channel, in headless Chromium driven by Selenium.

Started by integration/public.sh, which publishes the demo county (`ykt publish`), checks the
signed manifest, starts `ykt public serve` over HTTPS with the dev PKI and gives this script
the base URL, a resident who was paid (ID and name) and the browser's home (whose NSS database
trusts the dev CA). Steps: the home page and its links (policy list, notices, payment
publicity, complaint channels), a query that finds the resident's payments, one with the
right ID and a wrong name that finds nothing and looks the same, one with a malformed ID, and
a complaint filed through the form. Every page is kept (OUT/pages/) and photographed (OUT/*.png,
DOCS/*.png with --docs). Prints the complaint's receipt as `receipt: …`, ends with
`public day: N checks passed, M failed`.

Run with Debian's /usr/bin/python3 (python3-selenium)."""

import argparse
import os
import re
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait


class Day:
    def __init__(self, args):
        self.args = args
        self.out = args.out
        self.pages = os.path.join(self.out, "pages")
        os.makedirs(self.pages, exist_ok=True)
        self.passed = 0
        self.failed = 0
        self.step = "start"
        self.driver = None
        self.hit_layout = ([], [])

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print(f"   ✓ {what}")
        else:
            self.failed += 1
            print(f"   ✗ {what}（步骤：{self.step}；页面源码：{self.save('failed')}）")
        return ok

    def save(self, tag):
        n = len(os.listdir(self.pages)) + 1
        path = os.path.join(self.pages, f"{n:03d}-{self.step}-{tag}.html")
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(f"<!-- {self.driver.current_url} -->\n" + self.driver.page_source)
        except WebDriverException:
            return "-"
        return path

    def shot(self, name):
        self.save(name)
        # The whole page, as tall as it is (phones scroll; the picture should show it all).
        height = self.driver.execute_script("return Math.max(document.body.scrollHeight, 600)")
        self.driver.set_window_size(self.args.width, min(int(height) + 40, 2400))
        for folder in [self.out] + ([self.args.docs] if self.args.docs else []):
            os.makedirs(folder, exist_ok=True)
            self.driver.save_screenshot(os.path.join(folder, f"{name}.png"))
        self.driver.set_window_size(self.args.width, self.args.height)

    def text(self):
        return self.driver.find_element(By.TAG_NAME, "body").text

    def visit(self, path):
        self.driver.get(self.args.base.rstrip("/") + path)

    def start(self):
        options = webdriver.ChromeOptions()
        for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={self.args.width},{self.args.height}", "--lang=zh-CN"]:
            options.add_argument(flag)
        options.binary_location = "/usr/bin/chromium"
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        os.environ["HOME"] = self.args.browser_home
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.driver.set_page_load_timeout(30)

    def console_errors(self):
        """Console messages of severity SEVERE (CSP violations, failed loads)."""
        try:
            return [m["message"] for m in self.driver.get_log("browser") if m.get("level") == "SEVERE"
                    and "favicon" not in m["message"]]
        except WebDriverException:
            return []

    def no_full_data(self, what):
        source = self.driver.page_source
        leaks = [x for x in self.args.secret if x and x in source]
        self.check(not leaks, f"{what}：页面里没有完整的身份证号、账号或电话")

    # ---- steps ----------------------------------------------------------------------------

    def home(self):
        self.visit("/")
        body = self.text()
        self.check(self.args.county in body, f"首页写有县名「{self.args.county}」")
        for label in ["政策", "公示", "发放", "投诉"]:
            self.check(label in body, f"首页有「{label}」栏目")
        self.check(not self.console_errors(), "首页没有浏览器报错（内容安全策略、缺失的文件）")
        self.shot("public-home")
        links = [a.get_attribute("href") for a in self.driver.find_elements(By.TAG_NAME, "a")]
        pages = [h for h in links if h and h.startswith(self.args.base) and h.endswith(".html")]
        self.check(len(pages) >= 3, f"首页链接到 {len(pages)} 个静态页面")
        visited = 0
        for href in pages[:12]:
            self.driver.get(href)
            ok = "404" not in self.driver.title and len(self.text()) > 20
            visited += ok
            self.no_full_data(f"静态页 {href[len(self.args.base):]}")
        self.check(visited == min(len(pages), 12), f"静态页都能打开（{visited} 页）")
        policy = next((h for h in pages if "polic" in h), None)
        if self.check(policy is not None, "有政策清单页"):
            self.driver.get(policy)
            self.check("政策依据" in self.text() or "依据" in self.text(), "政策清单写有政策依据")
            self.shot("public-policy")
        payments = next((h for h in pages if "payment" in h), None)
        if self.check(payments is not None, "有发放公开页"):
            self.driver.get(payments)
            self.shot("public-payments")

    def query(self, rid, name):
        self.visit("/query")
        self.driver.find_element(By.CSS_SELECTOR, "input[name=id]").send_keys(rid)
        self.driver.find_element(By.CSS_SELECTOR, "input[name=name]").send_keys(name)
        started = time.monotonic()
        self.submit(self.driver.find_element(By.CSS_SELECTOR, "form button, form input[type=submit]"))
        return time.monotonic() - started

    def submit(self, button):
        """Clicks and waits until the answer page has replaced this one and is loaded whole."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        button.click()
        WebDriverWait(self.driver, 20).until(lambda d: self.gone(old))
        WebDriverWait(self.driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")
        WebDriverWait(self.driver, 20).until(expected_conditions.presence_of_element_located((By.TAG_NAME, "body")))

    @staticmethod
    def gone(element):
        """True once ELEMENT's page has been replaced. Chrome says so either as a stale element or,
        mid-navigation, as a node that "does not belong to the document" (selenium's
        staleness_of let that one through, and a step failed on it)."""
        try:
            element.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as e:
            if "does not belong to the document" in str(e):
                return True
            raise

    def hit(self):
        self.query(self.args.id, self.args.name)
        body = self.text()
        self.check("已发放" in body or "补发成功" in body, "查到本人的发放记录（已发放）")
        self.check(self.args.id not in self.driver.page_source, "回答页不显示完整身份证号")
        self.check(self.args.id not in self.driver.current_url, "身份证号不在网址里")
        self.check(len(self.driver.find_elements(By.CSS_SELECTOR, "table tbody tr")) >= 1, "发放记录是表格")
        self.no_full_data("查询结果")
        self.shot("public-query-hit")
        self.hit_layout = self.layout()

    def layout(self):
        """The page's shape without its records: headings and form fields."""
        heads = [h.text for h in self.driver.find_elements(By.CSS_SELECTOR, "h1, h2")]
        fields = [i.get_attribute("name") for i in self.driver.find_elements(By.CSS_SELECTOR, "input, button")]
        return heads[:1], fields

    def miss(self):
        wrong = self.args.name[:-1] + ("甲" if self.args.name[-1] != "甲" else "乙")
        self.query(self.args.id, wrong)
        body = self.text()
        self.check("没有查到" in body, "身份证号对、姓名不对：没有查到")
        self.check("已发放" not in body, "没有查到时不显示任何记录")
        self.check(self.layout()[1] == self.hit_layout[1], "查到与查不到的页面结构相同（同样的表单）")
        self.shot("public-query-miss")
        self.query("12345", self.args.name)
        self.check("身份证号" in self.text() and ("18" in self.text() or "格式" in self.text()), "身份证号格式不对时说明怎样填写")

    def complaint(self):
        self.visit("/complaint")
        self.shot("public-complaint-form")
        form = self.driver.find_element(By.CSS_SELECTOR, "form[method=post], form")
        form.find_element(By.CSS_SELECTOR, "textarea[name=content]").send_keys(self.args.complaint)
        for field, value in [("township", self.args.township), ("program", "耕地地力保护补贴"), ("name", "王女士"), ("phone", "13800001234")]:
            form.find_element(By.CSS_SELECTOR, f"input[name={field}]").send_keys(value)
        self.submit(form.find_element(By.CSS_SELECTOR, "button, input[type=submit]"))
        body = self.text()
        receipt = re.search(r"[A-Za-z0-9-]{8,}", body.split("受理", 1)[-1]) if "受理" in body or "回执" in body else None
        self.check(receipt is not None, "投诉举报已收到，页面给出受理编号")
        self.check("13800001234" not in self.driver.page_source, "回执页不显示完整电话")
        self.shot("public-complaint-done")
        if receipt:
            print(f"receipt: {receipt.group(0)}")

    def run(self):
        self.start()
        try:
            for step in [self.home, self.hit, self.miss, self.complaint]:
                self.step = step.__name__
                print(f"== {step.__name__}")
                try:
                    step()
                except (WebDriverException, NoSuchElementException, AttributeError) as e:
                    self.check(False, f"步骤 {step.__name__} 出错：{type(e).__name__} {str(e).splitlines()[0] if str(e) else ''}")
        finally:
            self.driver.quit()
        print(f"public day: {self.passed} checks passed, {self.failed} failed")
        return 0 if self.failed == 0 else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--county", required=True)
    p.add_argument("--township", default="")
    p.add_argument("--id", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--secret", action="append", default=[], help="a full ID, account or phone that must never show")
    p.add_argument("--complaint", default="反映某村有人冒领耕地地力保护补贴，请核查。")
    p.add_argument("--browser-home", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--docs")
    p.add_argument("--width", type=int, default=412)
    p.add_argument("--height", type=int, default=915)
    sys.exit(Day(p.parse_args()).run())


if __name__ == "__main__":
    main()
