#!/usr/bin/env python3
"""The action's GitHub side: one pull-request comment kept up to date, and one drift issue.

    python3 github.py comment --body-file plan.md [--files "..."] [--issue N]
    python3 github.py drift-issue --body-file plan.md --has-changes true|false [--fingerprint FP] [--files "..."]

Talks to the REST API at GITHUB_API_URL (default https://api.github.com) for GITHUB_REPOSITORY, with the token in
GITHUB_TOKEN (never printed). Lists are read whole, page by page, following the `Link` header's `rel="next"` (only
to the same host as the API: the token goes nowhere else).

comment: one comment per workflow (GITHUB_WORKFLOW) and file set, found by a hidden marker on its first line that
is a digest of both (a bot's first, as the workflow's token writes; any author's, as a personal token writes). Not found: created (POST .../issues/N/comments). Found: updated in place (PATCH
.../issues/comments/ID), unless it already says exactly that. Never a second one. The body is the Markdown plan and
a line naming the commit and the run; cut, if it must be, to GitHub's limit of 65,536 characters, with a note. The
pull request is the event's (GITHUB_EVENT_PATH) unless --issue is given; outside a pull request nothing is done.

drift-issue: one open issue (label `drift`) per workflow and file set, found by its marker, which also carries the
drift fingerprint. Drift and no issue: one is opened. Drift and an issue with another fingerprint: its description
is replaced by the new plan and a comment says the drift changed (an edit alone notifies nobody). The same
fingerprint: nothing is sent. No drift and an issue: a comment says the account matches again, and it is closed.
"""

import argparse
import hashlib
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fail, main, request, shown_url, truthy  # noqa: E402

# GitHub refuses a comment or an issue body longer than this many characters.
LIMIT = 65536
PER_PAGE = 100
# The most pages read of one list (10,000 comments or issues).
MAX_PAGES = 100


class GitHub:
    def __init__(self):
        self.api = (os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
        self.repo = os.environ.get("GITHUB_REPOSITORY") or fail("GITHUB_REPOSITORY is not set")
        self.token = os.environ.get("GITHUB_TOKEN") or fail(
            "no GitHub token: the action passes its github-token input (by default the workflow's GITHUB_TOKEN)")
        self.origin = urllib.parse.urlsplit(self.api)[:2]

    def url(self, path):
        return "%s/repos/%s%s" % (self.api, self.repo, path)

    def call(self, method, url, body=None, expect=(200,)):
        parts = urllib.parse.urlsplit(url)
        if parts[:2] != self.origin:
            fail("refusing to send the token to %s: not the API's host" % shown_url(url))
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": "Bearer " + self.token,
            "X-GitHub-Api-Version": "2022-11-28",
        }
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        status, resp_headers, payload = request(url, method=method, headers=headers, body=data)
        print("%s %s -> %d" % (method, shown_url(url) + query_of(url), status), flush=True)
        if status not in expect:
            fail("%s %s answered HTTP %d: %s%s" % (method, shown_url(url), status, message_of(payload),
                                                   advice(status, method)))
        try:
            return (json.loads(payload) if payload.strip() else None), resp_headers
        except ValueError:
            fail("%s %s answered something that is not JSON" % (method, shown_url(url)))

    def paginate(self, url):
        items, pages = [], 0
        while url:
            pages += 1
            if pages > MAX_PAGES:
                fail("more than %d pages at %s: giving up" % (MAX_PAGES, shown_url(url)))
            page, headers = self.call("GET", url)
            if not isinstance(page, list):
                fail("GET %s did not answer a list" % shown_url(url))
            items.extend(page)
            url = next_link(headers.get("Link", ""))
        return items


def query_of(url):
    query = urllib.parse.urlsplit(url).query
    return "?" + query if query else ""


def next_link(header):
    """The `rel="next"` URL of a Link header, if any."""
    for part in header.split(","):
        pieces = part.strip().split(";")
        if len(pieces) < 2:
            continue
        target = pieces[0].strip()
        rels = [p.strip() for p in pieces[1:]]
        if 'rel="next"' in rels and target.startswith("<") and target.endswith(">"):
            return target[1:-1]
    return None


def message_of(payload):
    try:
        doc = json.loads(payload)
    except ValueError:
        return payload[:200].decode("utf-8", "replace")
    text = str(doc.get("message", "")) if isinstance(doc, dict) else ""
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if isinstance(errors, list):
        text += "".join("; " + str(e.get("message", e) if isinstance(e, dict) else e) for e in errors)
    return text[:500]


def advice(status, method):
    if status in (401,):
        return " (the token is not valid)"
    if status in (403, 404) and method != "GET":
        return (" (does the job grant the permission? `pull-requests: write` for the comment, `issues: write` for "
                "the drift issue; a pull request from a fork gets a read-only token)")
    return ""


def key(files):
    """The digest that tells this workflow's and file set's comment or issue from others'."""
    workflow = os.environ.get("GITHUB_WORKFLOW") or ""
    normal = " ".join((files or ".").split())
    return hashlib.sha256(("%s\0%s" % (workflow, normal)).encode("utf-8")).hexdigest()[:16]


def fit(body, limit=LIMIT):
    """The body, cut at a line to at most `limit` characters with a note, its open blocks closed."""
    if len(body) <= limit:
        return body
    note = ("\n\n> [!CAUTION]\n> Cut to stay under GitHub's %d-character limit: the whole plan is in the job "
            "summary and the run's log.\n" % limit)
    room = limit - len(note) - 200
    cut = body[:room]
    if "\n" in cut:
        cut = cut[:cut.rindex("\n")]
    closing = ""
    if cut.count("```") % 2:
        closing += "\n```"
    closing += "\n</details>" * max(0, cut.count("<details>") - cut.count("</details>"))
    return cut + closing + note


def footer():
    parts = []
    sha = os.environ.get("GITHUB_SHA")
    if sha:
        parts.append("for `%s`" % sha[:12])
    server, repo, run_id = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repo and run_id:
        parts.append("[run %s](%s/%s/actions/runs/%s)" % (run_id, server, repo, run_id))
    workflow = os.environ.get("GITHUB_WORKFLOW")
    if workflow:
        parts.append("workflow <code>%s</code>" % workflow.replace("&", "&amp;").replace("<", "&lt;"))
    return "\n<sub>reconcile %s</sub>\n" % " · ".join(parts) if parts else ""


def read_body(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        fail("cannot read %s: %s" % (path, e.strerror or e))


def pull_request_number():
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            event = json.load(f)
    except (OSError, ValueError):
        return None
    pr = event.get("pull_request") if isinstance(event, dict) else None
    if isinstance(pr, dict) and isinstance(pr.get("number"), int):
        return pr["number"]
    return None


def comment(args):
    number = args.issue or pull_request_number()
    if not number:
        print("Not a pull request: no comment.", flush=True)
        return 0
    gh = GitHub()
    marker = "<!-- reconcile-action comment:%s -->" % key(args.files)
    body = fit("%s\n%s%s" % (marker, read_body(args.body_file).rstrip("\n") + "\n", footer()))
    comments = gh.paginate(gh.url("/issues/%d/comments?per_page=%d" % (number, PER_PAGE)))
    # The marker must open the body (a quote of the comment starts with "> " and does not count). The workflow's
    # token writes as a bot; a personal token as its user: a bot's comment is preferred, any author's is accepted.
    mine = [c for c in comments if isinstance(c, dict) and str(c.get("body") or "").startswith(marker + "\n")]
    mine.sort(key=lambda c: (c.get("user") or {}).get("type") != "Bot")
    if not mine:
        created, _ = gh.call("POST", gh.url("/issues/%d/comments" % number), {"body": body}, expect=(201,))
        print("Created the plan comment %s" % (created or {}).get("html_url", ""), flush=True)
        return 0
    if len(mine) > 1:
        print("Found %d plan comments with this marker; updating the first." % len(mine), flush=True)
    found = mine[0]
    if found.get("body") == body:
        print("The plan comment already says this.", flush=True)
        return 0
    gh.call("PATCH", gh.url("/issues/comments/%d" % found["id"]), {"body": body})
    print("Updated the plan comment %s" % found.get("html_url", ""), flush=True)
    return 0


def drift_issue(args):
    drift = truthy(args.has_changes, "has-changes")
    fingerprint = (args.fingerprint or "").strip()
    if drift and not fingerprint:
        fail("drift without a fingerprint: is the reconcile release older than driftFingerprint?")
    gh = GitHub()
    prefix = "<!-- reconcile-action drift:%s " % key(args.files)
    issues = gh.paginate(gh.url("/issues?state=open&labels=%s&per_page=%d" % (urllib.parse.quote(args.label),
                                                                           PER_PAGE)))
    mine = [i for i in issues if isinstance(i, dict) and "pull_request" not in i
            and str(i.get("body") or "").startswith(prefix)]
    issue = min(mine, key=lambda i: i.get("number", 0)) if mine else None
    link = ""
    server, repo, run_id = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repo and run_id:
        link = " ([run](%s/%s/actions/runs/%s))" % (server, repo, run_id)
    if not drift:
        if issue is None:
            print("No drift, and no open drift issue.", flush=True)
            return 0
        number = issue["number"]
        gh.call("POST", gh.url("/issues/%d/comments" % number),
                {"body": "The account matches its declaration again%s: closing." % link}, expect=(201,))
        gh.call("PATCH", gh.url("/issues/%d" % number), {"state": "closed", "state_reason": "completed"})
        print("No drift any more: closed issue #%d." % number, flush=True)
        return 0
    marker = "%sfingerprint:%s -->" % (prefix, fingerprint)
    text = ("%s\nThe Ultravox account no longer matches what the repository declares%s. Run the apply workflow to "
            "restore the declaration, or change the file to adopt what the account now holds.\n\nDrift fingerprint: "
            "`%s` (the same drift keeps it; this issue is updated when it changes, and closed when the drift "
            "clears).\n\n%s" % (marker, link, fingerprint, read_body(args.body_file)))
    body = fit(text)
    if issue is None:
        created, _ = gh.call("POST", gh.url("/issues"), {"title": args.title, "body": body, "labels": [args.label]},
                             expect=(201,))
        print("Drift: opened issue #%s." % (created or {}).get("number", "?"), flush=True)
        return 0
    number = issue["number"]
    if str(issue.get("body") or "").startswith(marker):
        print("Drift unchanged (fingerprint %s): issue #%d stays as it is." % (fingerprint, number), flush=True)
        return 0
    gh.call("PATCH", gh.url("/issues/%d" % number), {"body": body})
    gh.call("POST", gh.url("/issues/%d/comments" % number),
            {"body": "The drift changed%s: the description shows the plan now (fingerprint `%s`)." % (link,
                                                                                                     fingerprint)},
            expect=(201,))
    print("Drift changed: updated issue #%d." % number, flush=True)
    return 0


def run():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("comment", help="create or update the pull request's plan comment")
    c.add_argument("--body-file", required=True)
    c.add_argument("--files", default=".")
    c.add_argument("--issue", type=int, help="the pull request's number (default: the event's)")
    d = sub.add_parser("drift-issue", help="open, update or close the drift issue")
    d.add_argument("--body-file", required=True)
    d.add_argument("--files", default=".")
    d.add_argument("--has-changes", required=True)
    d.add_argument("--fingerprint", default="")
    d.add_argument("--label", default="drift")
    d.add_argument("--title", default="Telephony credentials drifted from the repository")
    args = parser.parse_args()
    return comment(args) if args.what == "comment" else drift_issue(args)


if __name__ == "__main__":
    main(run)
