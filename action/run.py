#!/usr/bin/env python3
"""Runs `reconcile plan` or `reconcile apply` for the action, and turns its one JSON document into everything else.

Inputs come from the environment (never from a command line built from expressions, where they could inject shell):
RECONCILE (the binary), INPUT_COMMAND (plan or apply; or validate, which needs no secret: only `exit-code` is set),
INPUT_FILES (paths separated by spaces, or one per line to allow spaces), INPUT_ENDPOINTS, INPUT_JOBS, INPUT_ROTATE,
INPUT_DETAILED_EXITCODE. Secrets are not inputs: reconcile reads them from the step's environment, as the files'
references name them.

One run of reconcile, with `--format json`: its document is saved as `plan.json` in a folder of RUNNER_TEMP, and its
stderr (diagnostics, and in Actions the `::error` annotations on the file's lines) goes to the log. From that one
document, and nothing else: the text plan in the log and the Markdown plan (`reconcile show`, no second read of the
account) in the job summary and in `plan.md` for the comment; the step outputs `has-changes`, `to-create`,
`to-update`, `to-delete` (from its `summary`), `drift-fingerprint`, `exit-code`, `plan-json` and `plan-markdown`.
When the run failed before it printed a document, the counts are empty, and the Markdown says that it failed, with a
link to the run.

Exits 0 whatever reconcile did: the action's last step fails the job on `exit-code` 1 (or 2 with
detailed-exitcode), after the summary and the comment are written.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fail, main, read_json_file, set_output, truthy  # noqa: E402

MARKER = "<!-- reconcile-plan -->"


def files_of(text):
    text = (text or "").strip()
    if not text:
        return []
    if "\n" in text:
        return [line.strip() for line in text.splitlines() if line.strip()]
    return text.split()


def arguments():
    command = (os.environ.get("INPUT_COMMAND") or "plan").strip()
    if command not in ("plan", "apply", "validate"):
        fail("input command must be plan or apply (or validate), not %r" % command)
    args = [command]
    for path in files_of(os.environ.get("INPUT_FILES")):
        args += ["-f", path]
    if command == "validate":
        return command, args
    args += ["--format", "json"]
    endpoints = (os.environ.get("INPUT_ENDPOINTS") or "").strip()
    if endpoints:
        if endpoints not in ("auto", "provider", "account"):
            fail("input endpoints must be auto, provider or account, not %r" % endpoints)
        args += ["--endpoints", endpoints]
    jobs = (os.environ.get("INPUT_JOBS") or "").strip()
    if jobs:
        if not re.match(r"^[0-9]{1,4}$", jobs) or not 1 <= int(jobs) <= 1024:
            fail("input jobs must be a number from 1 to 1024, not %r" % jobs)
        args += ["--jobs", jobs]
    if truthy(os.environ.get("INPUT_ROTATE"), "rotate"):
        args.append("--rotate")
    detailed = truthy(os.environ.get("INPUT_DETAILED_EXITCODE"), "detailed-exitcode")
    if command == "plan" and detailed:
        args.append("--detailed-exitcode")
    if command == "apply":
        args.append("--auto-approve")
    return command, args


def work_folder():
    base = os.environ.get("RUNNER_TEMP") or os.getcwd()
    step = re.sub(r"[^A-Za-z0-9_.-]", "_", os.environ.get("GITHUB_ACTION") or "run")
    folder = os.path.join(base, "reconcile-" + step)
    os.makedirs(folder, exist_ok=True)
    return folder


def run_link():
    server, repo, run_id = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repo and run_id:
        return "%s/%s/actions/runs/%s" % (server, repo, run_id)
    return None


def failure_markdown(command, code):
    link = run_link()
    where = "see [the run's log](%s)" % link if link else "see the run's log"
    sha = (os.environ.get("GITHUB_SHA") or "")[:12]
    at = " for `%s`" % sha if sha else ""
    return "%s\n### reconcile %s failed\n\n`reconcile %s` exited %d%s before it could show a plan: %s. Each problem in " \
           "a file is also marked on its line in the pull request's diff.\n" % (MARKER, command, command, code, at,
                                                                             where)


def show(binary, document, fmt):
    shown = subprocess.run([binary, "show", "--format", fmt, document], capture_output=True, text=True)
    if shown.returncode != 0:
        sys.stderr.write(shown.stderr)
        fail("reconcile show --format %s could not render %s" % (fmt, document))
    return shown.stdout


def run():
    binary = os.environ.get("RECONCILE") or "reconcile"
    command, args = arguments()
    if command == "validate":
        print("Running: reconcile %s" % " ".join(args), flush=True)
        code = subprocess.run([binary] + args, stdin=subprocess.DEVNULL).returncode
        set_output("exit-code", code)
        for name in ("has-changes", "to-create", "to-update", "to-delete", "drift-fingerprint", "plan-json",
                     "plan-markdown"):
            set_output(name, "")
        return 0
    folder = work_folder()
    document = os.path.join(folder, "plan.json")
    markdown_path = os.path.join(folder, "plan.md")
    print("Running: reconcile %s" % " ".join(args), flush=True)
    with open(document, "w", encoding="utf-8") as out:
        code = subprocess.run([binary] + args, stdout=out, stdin=subprocess.DEVNULL).returncode
    doc = read_json_file(document)

    counts = {"create": "", "update": "", "delete": ""}
    has_changes, fingerprint = "", ""
    if isinstance(doc, dict):
        summary = doc.get("summary") or {}
        if summary:
            has_changes = "true" if summary.get("hasChanges") else "false"
            for k in counts:
                counts[k] = str(summary.get(k, 0))
        fingerprint = doc.get("driftFingerprint") or ""
        print(show(binary, document, "text"), flush=True)
        markdown = show(binary, document, "markdown")
    else:
        markdown = failure_markdown(command, code)
    with open(markdown_path, "w", encoding="utf-8") as f:
        f.write(markdown)
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        with open(summary_path, "a", encoding="utf-8") as f:
            f.write(markdown if markdown.endswith("\n") else markdown + "\n")

    set_output("exit-code", code)
    set_output("has-changes", has_changes)
    set_output("to-create", counts["create"])
    set_output("to-update", counts["update"])
    set_output("to-delete", counts["delete"])
    set_output("drift-fingerprint", fingerprint)
    set_output("plan-json", document)
    set_output("plan-markdown", markdown_path)
    return 0


if __name__ == "__main__":
    main(run)
