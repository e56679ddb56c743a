//! A real HTTP server standing in for the communication platform (docs/platform.md's adapter
//! contract), with faults to order: error statuses, slow answers, garbage and truncated JSON,
//! bodies of the test's choosing, redirects and endless answers.
//! It records what it was asked.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get},
};
use serde_json::{Value, json};

/// What the next request gets instead of its answer.
#[derive(Clone, Debug)]
pub enum Fault {
    /// This status, empty body.
    Status(u16),
    /// The answer, after this long.
    Delay(Duration),
    /// The answer's status with a body that is not JSON.
    Garbage,
    /// The answer's status with its JSON cut in half.
    Truncated,
    /// This status with this body (text the platform controls).
    Body(u16, String),
    /// `302 Found` to this URL.
    Redirect(String),
    /// `200` with a body that never ends (chunked, no `Content-Length`), up to 256 MiB.
    Endless,
}

#[derive(Default)]
struct Platform {
    token: String,
    /// Per platform account: id → (userRef, number, label).
    items: BTreeMap<String, (String, String, String, Option<String>)>,
    /// id → the ringing fields the platform lists beside the item (created with, or set).
    ringing: HashMap<String, serde_json::Map<String, Value>>,
    next_id: u64,
    faults: VecDeque<Fault>,
    /// Requests still answered cleanly before `faults` apply.
    clean: usize,
    /// `METHOD path?query` of every request, in order.
    requests: Vec<String>,
}

/// The running fake platform.
#[derive(Clone)]
pub struct FakePlatform {
    pub url: String,
    state: Arc<Mutex<Platform>>,
}

impl FakePlatform {
    /// Starts on a free port; requests must carry `Bearer <token>`.
    pub async fn start(token: &str) -> FakePlatform {
        let state = Arc::new(Mutex::new(Platform {
            token: token.to_owned(),
            ..Default::default()
        }));
        let app = Router::new()
            .route("/v1/remote-extensions", get(list).post(create))
            .route("/v1/remote-extensions/{id}", delete(remove))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakePlatform { url, state }
    }

    /// Adds a remote extension of platform account `account`; its id.
    pub fn add(&self, account: &str, user_ref: &str, number: &str, label: Option<&str>) -> String {
        let mut p = self.state.lock().unwrap();
        p.next_id += 1;
        let id = format!("re-{}", p.next_id);
        p.items.insert(
            id.clone(),
            (account.into(), user_ref.into(), number.into(), label.map(str::to_owned)),
        );
        id
    }

    /// Sets the ringing fields listed with a remote extension (an object of the contract's
    /// `ringDelaySeconds`, `answerTooSoonMs`, `answerTooLateMs`, `requireKeypress`).
    pub fn set_ringing(&self, id: &str, ringing: Value) {
        let fields = ringing.as_object().cloned().unwrap_or_default();
        self.state.lock().unwrap().ringing.insert(id.to_owned(), fields);
    }

    /// The ringing fields of a remote extension (what it was created with, or set), as an object.
    pub fn ringing(&self, id: &str) -> Value {
        Value::Object(self.state.lock().unwrap().ringing.get(id).cloned().unwrap_or_default())
    }

    /// Removes a remote extension, as the platform's own admin would.
    pub fn remove(&self, id: &str) {
        self.state.lock().unwrap().items.remove(id);
    }

    /// Changes the number of a remote extension under the same id.
    pub fn renumber(&self, id: &str, number: &str) {
        if let Some(item) = self.state.lock().unwrap().items.get_mut(id) {
            item.2 = number.to_owned();
        }
    }

    /// Gives a remote extension to another `userRef` under the same id.
    pub fn reassign(&self, id: &str, user_ref: &str) {
        if let Some(item) = self.state.lock().unwrap().items.get_mut(id) {
            item.1 = user_ref.to_owned();
        }
    }

    /// `(id, userRef, number)` of every item of `account`, by id.
    pub fn items(&self, account: &str) -> Vec<(String, String, String)> {
        let p = self.state.lock().unwrap();
        p.items
            .iter()
            .filter(|(_, (a, ..))| a == account)
            .map(|(id, (_, user_ref, number, _))| (id.clone(), user_ref.clone(), number.clone()))
            .collect()
    }

    /// The next requests get these faults, in order.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.state.lock().unwrap().faults.extend(faults.iter().cloned());
    }

    /// The next request is answered cleanly; the ones after it get these faults, in order.
    pub fn fail_after_one(&self, faults: &[Fault]) {
        let mut p = self.state.lock().unwrap();
        p.clean = 1;
        p.faults.extend(faults.iter().cloned());
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The numbers held for `account`, sorted.
    pub fn numbers(&self, account: &str) -> Vec<String> {
        let p = self.state.lock().unwrap();
        let mut numbers: Vec<_> = p
            .items
            .values()
            .filter(|(a, ..)| a == account)
            .map(|(_, _, n, _)| n.clone())
            .collect();
        numbers.sort();
        numbers
    }
}

type Shared = State<Arc<Mutex<Platform>>>;

/// Records the request and takes the next fault, or refuses a wrong token.
fn enter(state: &Arc<Mutex<Platform>>, headers: &HeaderMap, line: String) -> Result<Option<Fault>, StatusCode> {
    let mut p = state.lock().unwrap();
    p.requests.push(line);
    let expected = format!("Bearer {}", p.token);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    if p.clean > 0 {
        p.clean -= 1;
        return Ok(None);
    }
    Ok(p.faults.pop_front())
}

/// The answer `body` with `status`, as the fault (if any) bends it.
async fn answer(fault: Option<Fault>, status: StatusCode, body: Value) -> Response {
    match fault {
        None => (status, Json(body)).into_response(),
        Some(Fault::Status(code)) => StatusCode::from_u16(code).unwrap().into_response(),
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            (status, Json(body)).into_response()
        }
        Some(Fault::Garbage) => (status, "<html>upstream error</html>").into_response(),
        Some(Fault::Body(code, text)) => (StatusCode::from_u16(code).unwrap(), text).into_response(),
        Some(Fault::Redirect(to)) => (StatusCode::FOUND, [("location", to)]).into_response(),
        Some(Fault::Endless) => {
            let chunk = axum::body::Bytes::from(vec![b' '; 64 * 1024]);
            let chunks = futures::StreamExt::take(
                futures::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone())),
                4096,
            );
            let mut response = axum::body::Body::from_stream(chunks).into_response();
            response
                .headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            response
        }
        Some(Fault::Truncated) => {
            let text = body.to_string();
            (
                status,
                [("content-type", "application/json")],
                text[..text.len() / 2].to_owned(),
            )
                .into_response()
        }
    }
}

async fn list(State(state): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut keys: Vec<_> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
    keys.sort();
    let fault = match enter(
        &state,
        &headers,
        format!("GET /v1/remote-extensions?{}", keys.join("&")),
    ) {
        Ok(f) => f,
        Err(status) => return status.into_response(),
    };
    let account = q.get("account").cloned().unwrap_or_default();
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
    let start: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = {
        let p = state.lock().unwrap();
        let all: Vec<_> = p.items.iter().filter(|(_, (a, ..))| *a == account).collect();
        let items: Vec<Value> = all
            .iter()
            .skip(start)
            .take(limit)
            .map(|(id, (_, user_ref, number, label))| {
                let mut item = json!({"id": id, "userRef": user_ref, "number": number, "label": label});
                if let (Some(item), Some(ringing)) = (item.as_object_mut(), p.ringing.get(*id)) {
                    item.extend(ringing.clone());
                }
                item
            })
            .collect();
        let next = (start + limit < all.len()).then(|| (start + limit).to_string());
        json!({"items": items, "nextCursor": next})
    };
    answer(fault, StatusCode::OK, body).await
}

async fn create(State(state): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let fault = match enter(&state, &headers, "POST /v1/remote-extensions".into()) {
        Ok(f) => f,
        Err(status) => return status.into_response(),
    };
    if fault.is_some() {
        return answer(fault, StatusCode::CREATED, json!({"id": "never"})).await;
    }
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
    let mut p = state.lock().unwrap();
    if p.items.values().any(|(_, _, n, _)| *n == text("number")) {
        return StatusCode::CONFLICT.into_response();
    }
    p.next_id += 1;
    let id = format!("re-{}", p.next_id);
    let label = body["label"].as_str().map(str::to_owned);
    p.items
        .insert(id.clone(), (text("account"), text("userRef"), text("number"), label));
    let ringing = [
        "ringDelaySeconds",
        "answerTooSoonMs",
        "answerTooLateMs",
        "requireKeypress",
    ]
    .into_iter()
    .filter_map(|k| body.get(k).map(|v| (k.to_owned(), v.clone())))
    .collect();
    p.ringing.insert(id.clone(), ringing);
    (StatusCode::CREATED, Json(json!({"id": id}))).into_response()
}

async fn remove(State(state): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let fault = match enter(&state, &headers, format!("DELETE /v1/remote-extensions/{id}")) {
        Ok(f) => f,
        Err(status) => return status.into_response(),
    };
    if fault.is_some() {
        return answer(fault, StatusCode::NO_CONTENT, Value::Null).await;
    }
    match state.lock().unwrap().items.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
