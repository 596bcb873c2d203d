"""Shared pieces of the action's scripts: failing with a clear message, GitHub's workflow files, and HTTP.

Python 3.8+ standard library only: it is on every GitHub-hosted runner (Linux, macOS, Windows) and in most CI
images, and needs no install step of its own.
"""

import ipaddress
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

USER_AGENT = "reconcile-action"


class Failure(Exception):
    """An error the user can act on: printed as one `::error::` line, exit 1."""


def fail(message):
    raise Failure(message)


def main(run):
    """Runs `run()`, turning a Failure into an error annotation and exit code 1."""
    try:
        code = run()
    except Failure as e:
        print("::error title=reconcile action::" + escape_data(str(e)), flush=True)
        print("error: " + str(e), file=sys.stderr, flush=True)
        sys.exit(1)
    sys.exit(code or 0)


def escape_data(text):
    """GitHub's escaping of a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def set_output(name, value):
    """One step output, in $GITHUB_OUTPUT (printed when not in Actions)."""
    value = "" if value is None else str(value)
    if "\n" in value or "\r" in value:
        fail("output %s would span lines" % name)
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write("%s=%s\n" % (name, value))
    else:
        print("%s=%s" % (name, value))


def add_path(folder):
    path = os.environ.get("GITHUB_PATH")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(folder + "\n")


def truthy(text, name):
    value = (text or "").strip().lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("", "false", "no", "0", "off"):
        return False
    fail("input %s must be true or false, not %r" % (name, text))


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url):
    """https anywhere; http only to a loopback host (a local test server). Returns the parsed URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return parts
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return parts
    fail("refusing %s: only https:// URLs are used (http:// only for a loopback host)" % shown_url(url))


def shown_url(url):
    """A URL as it may be printed: no credentials, no query."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = "%s:%d" % (host, parts.port)
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


class _NoUnsafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to a URL that `check_url` accepts (GitHub's release downloads redirect to https)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_opener = urllib.request.build_opener(_NoUnsafeRedirects())

TRANSIENT = (429, 500, 502, 503, 504)


def request(url, method="GET", headers=None, body=None, timeout=30, attempts=3, limit=None):
    """One HTTP request, retried on a transient failure; returns (status, headers, body bytes).

    Any status is returned (the caller decides); only connection failures and the statuses in TRANSIENT are retried,
    waiting as Retry-After asks (at most 30 s) or 1 s, 2 s.
    """
    check_url(url)
    data = None if body is None else body
    last = None
    for attempt in range(1, attempts + 1):
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("User-Agent", USER_AGENT)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with _opener.open(req, timeout=timeout) as resp:
                return resp.status, resp.headers, _read(resp, limit, url)
        except urllib.error.HTTPError as e:
            payload = _read(e, limit, url)
            if e.code not in TRANSIENT or attempt == attempts:
                return e.code, e.headers, payload
            last = "HTTP %d" % e.code
            wait = _retry_after(e.headers, attempt)
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            last = str(reason)
            if attempt == attempts:
                break
            wait = attempt
        print("%s %s: %s (attempt %d of %d); retrying in %ds" % (method, shown_url(url), last, attempt, attempts, wait),
              file=sys.stderr, flush=True)
        time.sleep(wait)
    fail("%s %s failed after %d attempts: %s" % (method, shown_url(url), attempts, last))


def _read(resp, limit, url):
    data = resp.read(limit + 1) if limit else resp.read()
    if limit and len(data) > limit:
        fail("%s is larger than %d bytes: refusing it" % (shown_url(url), limit))
    return data


def _retry_after(headers, attempt):
    value = (headers or {}).get("Retry-After", "")
    if value.strip().isdigit():
        return min(int(value.strip()), 30)
    return attempt


def read_json_file(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        fail("cannot read %s: %s" % (path, e.strerror or e))
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as e:
        fail("%s is not JSON: %s" % (path, e))
