//! Local stand-ins for what the GitHub Action's scripts (`action/`) talk to, on loopback ports:
//!
//! - [`ReleaseHost`]: a release's files (archives, checksums) by path, as GitHub's release downloads serve them;
//! - [`FakeGitHub`]: the parts of GitHub's REST API the scripts use, with GitHub's behaviour rather than the tests'
//!   expectations: a token is required (401 `Bad credentials`), lists are paginated (`per_page` default 30, at most
//!   100, `page`) with a `Link` header (`rel="next"`, `"last"`, `"first"`, `"prev"`), comments are listed oldest
//!   first and issues newest first (pull requests included, as GitHub's issues list does), a create answers 201, an
//!   edit is `PATCH /repos/{o}/{r}/issues/comments/{id}` or `PATCH /repos/{o}/{r}/issues/{n}` (200), a body over
//!   65,536 characters is refused with 422 `Validation Failed`, and anything else is 404 `Not Found`.
//!
//! Both record every request (`METHOD target -> status`).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// What a handler answers.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            headers: vec![("content-type".into(), "application/json; charset=utf-8".into())],
            body: body.to_string().into_bytes(),
        }
    }
}

type Handler = dyn Fn(&Method, &str, &hyper::HeaderMap, &[u8]) -> Answer + Send + Sync;

/// A server on its own thread and runtime; stopped when dropped.
struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(handler: Arc<Handler>) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let stream = tokio::select! {
                        _ = &mut stopped => return,
                        accepted = listener.accept() => match accepted {
                            Ok((stream, _)) => stream,
                            Err(_) => continue,
                        },
                    };
                    let handler = Arc::clone(&handler);
                    tokio::spawn(async move {
                        let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                            let handler = Arc::clone(&handler);
                            async move {
                                let (parts, body) = request.into_parts();
                                let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                                let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
                                let answer = handler(&parts.method, &target, &parts.headers, &body);
                                let mut response = Response::builder().status(answer.status);
                                for (k, v) in &answer.headers {
                                    response = response.header(k, v);
                                }
                                Ok::<_, Infallible>(response.body(Full::new(Bytes::from(answer.body))).unwrap())
                            }
                        });
                        let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                    });
                }
            });
        });
        Server { addr, stop: Some(stop), thread: Some(thread) }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Release files

/// Serves files by path (200, or 404 `Not Found`), recording each request.
pub struct ReleaseHost {
    server: Server,
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl ReleaseHost {
    pub fn start() -> ReleaseHost {
        let files: Arc<Mutex<BTreeMap<String, Vec<u8>>>> = Arc::default();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let (f, l) = (Arc::clone(&files), Arc::clone(&log));
        let server = Server::start(Arc::new(move |method, target, _, _| {
            let found = (*method == Method::GET).then(|| f.lock().unwrap().get(target).cloned()).flatten();
            let answer = match found {
                Some(body) => Answer {
                    status: 200,
                    headers: vec![("content-type".into(), "application/octet-stream".into())],
                    body,
                },
                None => Answer { status: 404, headers: vec![], body: b"Not Found".to_vec() },
            };
            l.lock().unwrap().push(format!("{method} {target} -> {}", answer.status));
            answer
        }));
        ReleaseHost { server, files, log }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn put(&self, path: &str, body: Vec<u8>) {
        self.files.lock().unwrap().insert(path.to_string(), body);
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

// ---------------------------------------------------------------------------------------------------------------
// GitHub

pub const OWNER_REPO: &str = "acme/telephony";
pub const TOKEN: &str = "ghs_fakeInstallationToken0123456789";
pub const BOT: &str = "github-actions[bot]";
/// GitHub's limit on a comment's or an issue's body, in characters.
pub const BODY_LIMIT: usize = 65_536;

#[derive(Clone, Debug)]
pub struct Comment {
    pub id: u64,
    pub issue: u64,
    pub body: String,
    pub login: String,
    pub user_type: String,
}

#[derive(Clone, Debug)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub state: String,
    pub labels: Vec<String>,
    pub pull_request: bool,
}

#[derive(Default)]
struct GitHubState {
    issues: BTreeMap<u64, Issue>,
    comments: Vec<Comment>,
    next_comment: u64,
    log: Vec<String>,
}

pub struct FakeGitHub {
    server: Server,
    state: Arc<Mutex<GitHubState>>,
}

impl FakeGitHub {
    pub fn start() -> FakeGitHub {
        let state = Arc::new(Mutex::new(GitHubState { next_comment: 1_000_001, ..GitHubState::default() }));
        let base: Arc<Mutex<String>> = Arc::default();
        let (s, b) = (Arc::clone(&state), Arc::clone(&base));
        let server = Server::start(Arc::new(move |method, target, headers, body| {
            let base = b.lock().unwrap().clone();
            let mut state = s.lock().unwrap();
            let answer = handle(&mut state, &base, method, target, headers, body);
            state.log.push(format!("{method} {target} -> {}", answer.status));
            answer
        }));
        *base.lock().unwrap() = server.url();
        FakeGitHub { server, state }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// An open pull request (its comments are the issue's, as on GitHub).
    pub fn add_pull_request(&self, number: u64) {
        self.add(Issue {
            number,
            title: format!("PR {number}"),
            body: String::new(),
            state: "open".into(),
            labels: vec![],
            pull_request: true,
        });
    }

    pub fn add(&self, issue: Issue) {
        self.state.lock().unwrap().issues.insert(issue.number, issue);
    }

    /// A comment written by someone else.
    pub fn add_comment(&self, issue: u64, body: &str, login: &str, user_type: &str) -> u64 {
        let mut state = self.state.lock().unwrap();
        let id = state.next_comment;
        state.next_comment += 1;
        state.comments.push(Comment { id, issue, body: body.into(), login: login.into(), user_type: user_type.into() });
        id
    }

    pub fn comments(&self, issue: u64) -> Vec<Comment> {
        self.state.lock().unwrap().comments.iter().filter(|c| c.issue == issue).cloned().collect()
    }

    pub fn issues(&self) -> Vec<Issue> {
        self.state.lock().unwrap().issues.values().filter(|i| !i.pull_request).cloned().collect()
    }

    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }
}

fn not_found() -> Answer {
    Answer::json(
        404,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}),
    )
}

fn too_long(resource: &str) -> Answer {
    Answer::json(
        422,
        json!({
            "message": "Validation Failed",
            "errors": [{"resource": resource, "code": "custom", "field": "body",
                        "message": format!("body is too long (maximum is {BODY_LIMIT} characters)")}],
            "documentation_url": "https://docs.github.com/rest",
            "status": "422"
        }),
    )
}

fn comment_json(base: &str, c: &Comment) -> Value {
    json!({
        "id": c.id,
        "node_id": format!("IC_{}", c.id),
        "url": format!("{base}/repos/{OWNER_REPO}/issues/comments/{}", c.id),
        "html_url": format!("https://github.com/{OWNER_REPO}/pull/{}#issuecomment-{}", c.issue, c.id),
        "issue_url": format!("{base}/repos/{OWNER_REPO}/issues/{}", c.issue),
        "body": c.body,
        "user": {"login": c.login, "id": 41898282, "type": c.user_type},
        "author_association": "NONE",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    })
}

fn issue_json(base: &str, i: &Issue) -> Value {
    let mut v = json!({
        "id": 9_000_000 + i.number,
        "number": i.number,
        "title": i.title,
        "body": i.body,
        "state": i.state,
        "labels": i.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
        "user": {"login": BOT, "type": "Bot"},
        "url": format!("{base}/repos/{OWNER_REPO}/issues/{}", i.number),
        "html_url": format!("https://github.com/{OWNER_REPO}/issues/{}", i.number),
    });
    if i.pull_request {
        v["pull_request"] = json!({"url": format!("{base}/repos/{OWNER_REPO}/pulls/{}", i.number)});
    }
    v
}

/// One page of `items`, with GitHub's `Link` header.
fn page(base: &str, path: &str, query: &BTreeMap<String, String>, items: Vec<Value>) -> Answer {
    let per_page = query.get("per_page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(30).clamp(1, 100);
    let page = query.get("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let shown: Vec<Value> = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    let link_to = |n: usize| {
        let mut q = query.clone();
        q.insert("per_page".into(), per_page.to_string());
        q.insert("page".into(), n.to_string());
        let query: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("<{base}{path}?{}>", query.join("&"))
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    let mut answer = Answer::json(200, Value::Array(shown));
    if !links.is_empty() {
        answer.headers.push(("link".into(), links.join(", ")));
    }
    answer
}

fn handle(
    state: &mut GitHubState,
    base: &str,
    method: &Method,
    target: &str,
    headers: &hyper::HeaderMap,
    body: &[u8],
) -> Answer {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}") || v == format!("token {TOKEN}"));
    if !authorized {
        return Answer::json(
            401,
            json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
        );
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let Some(rest) = path.strip_prefix(&format!("/repos/{OWNER_REPO}/issues")) else { return not_found() };
    let parts: Vec<&str> = rest.split('/').skip(1).collect();
    let input = || -> Result<serde_json::Map<String, Value>, Answer> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(Answer::json(400, json!({"message": "Problems parsing JSON", "status": "400"}))),
        }
    };
    let text =
        |map: &serde_json::Map<String, Value>, key: &str| map.get(key).and_then(Value::as_str).map(str::to_string);
    match (method.clone(), parts.as_slice()) {
        // GET /repos/{o}/{r}/issues
        (Method::GET, []) => {
            let wanted_state = query.get("state").map(String::as_str).unwrap_or("open");
            let labels: Vec<&str> = query.get("labels").map(|l| l.split(',').collect()).unwrap_or_default();
            let mut found: Vec<&Issue> = state
                .issues
                .values()
                .filter(|i| wanted_state == "all" || i.state == wanted_state)
                .filter(|i| labels.iter().all(|l| i.labels.iter().any(|have| have == l)))
                .collect();
            found.reverse(); // newest first
            let items = found.into_iter().map(|i| issue_json(base, i)).collect();
            page(base, path, &query, items)
        }
        // POST /repos/{o}/{r}/issues
        (Method::POST, []) => {
            let map = match input() {
                Ok(map) => map,
                Err(answer) => return answer,
            };
            let Some(title) = text(&map, "title") else {
                return Answer::json(
                    422,
                    json!({"message": "Validation Failed", "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}]}),
                );
            };
            let body = text(&map, "body").unwrap_or_default();
            if body.chars().count() > BODY_LIMIT {
                return too_long("Issue");
            }
            let labels = map
                .get("labels")
                .and_then(Value::as_array)
                .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            let number = state.issues.keys().max().copied().unwrap_or(0) + 1;
            let issue = Issue { number, title, body, state: "open".into(), labels, pull_request: false };
            let answer = Answer::json(201, issue_json(base, &issue));
            state.issues.insert(number, issue);
            answer
        }
        // PATCH /repos/{o}/{r}/issues/{n}
        (Method::PATCH, [number]) => {
            let map = match input() {
                Ok(map) => map,
                Err(answer) => return answer,
            };
            let Some(issue) = number.parse::<u64>().ok().and_then(|n| state.issues.get_mut(&n)) else {
                return not_found();
            };
            if let Some(body) = text(&map, "body") {
                if body.chars().count() > BODY_LIMIT {
                    return too_long("Issue");
                }
                issue.body = body;
            }
            if let Some(title) = text(&map, "title") {
                issue.title = title;
            }
            if let Some(s) = text(&map, "state") {
                if s != "open" && s != "closed" {
                    return Answer::json(422, json!({"message": "Validation Failed"}));
                }
                issue.state = s;
            }
            let issue = issue.clone();
            Answer::json(200, issue_json(base, &issue))
        }
        // GET /repos/{o}/{r}/issues/{n}/comments
        (Method::GET, [number, "comments"]) => {
            let Some(n) = number.parse::<u64>().ok().filter(|n| state.issues.contains_key(n)) else {
                return not_found();
            };
            let items = state.comments.iter().filter(|c| c.issue == n).map(|c| comment_json(base, c)).collect();
            page(base, path, &query, items)
        }
        // POST /repos/{o}/{r}/issues/{n}/comments
        (Method::POST, [number, "comments"]) => {
            let Some(n) = number.parse::<u64>().ok().filter(|n| state.issues.contains_key(n)) else {
                return not_found();
            };
            let map = match input() {
                Ok(map) => map,
                Err(answer) => return answer,
            };
            let Some(body) = text(&map, "body") else {
                return Answer::json(
                    422,
                    json!({"message": "Validation Failed", "errors": [{"resource": "IssueComment", "code": "missing_field", "field": "body"}]}),
                );
            };
            if body.chars().count() > BODY_LIMIT {
                return too_long("IssueComment");
            }
            let id = state.next_comment;
            state.next_comment += 1;
            let comment = Comment { id, issue: n, body, login: BOT.into(), user_type: "Bot".into() };
            let answer = Answer::json(201, comment_json(base, &comment));
            state.comments.push(comment);
            answer
        }
        // PATCH /repos/{o}/{r}/issues/comments/{id}
        (Method::PATCH, ["comments", id]) => {
            let map = match input() {
                Ok(map) => map,
                Err(answer) => return answer,
            };
            let Some(comment) = id.parse::<u64>().ok().and_then(|id| state.comments.iter_mut().find(|c| c.id == id))
            else {
                return not_found();
            };
            let Some(body) = text(&map, "body") else {
                return Answer::json(422, json!({"message": "Validation Failed"}));
            };
            if body.chars().count() > BODY_LIMIT {
                return too_long("IssueComment");
            }
            comment.body = body;
            let comment = comment.clone();
            Answer::json(200, comment_json(base, &comment))
        }
        _ => not_found(),
    }
}
