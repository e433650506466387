//! The endpoints: `POST /v1/query`, `GET /v1/items/{id}`,
//! `GET /v1/items/{id}/thumb`, `GET /healthz`, `GET /metrics` and the
//! lookup page at `GET /`.
//!
//! Hashing and searching run on tokio's blocking pool, at most
//! `concurrency` at once, so that the async workers keep accepting and
//! answering cheap requests while pictures are decoded. Every refusal is a
//! 4xx with `{"error": "..."}` naming the problem.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State as StateOf};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::Semaphore;

use super::metrics::Metrics;
use super::reload::Index;
use super::ServeOptions;
use crate::query::{QueryError, Searcher};
use crate::video::error::VideoError;

/// What the handlers share.
pub struct State {
    /// The open index.
    pub index: Arc<Index>,
    /// Request counters.
    pub metrics: Metrics,
    /// The bearer token, if any.
    pub token: Option<String>,
    timeout: Duration,
    slots: Semaphore,
    max_body: usize,
    max_frames: u64,
}

/// The shared state as handlers take it.
pub type AppState = Arc<State>;

impl State {
    /// The state of a service over `index`.
    pub fn new(index: Index, opts: &ServeOptions) -> State {
        State {
            index: Arc::new(index),
            metrics: Metrics::default(),
            token: opts.token.clone(),
            timeout: opts.timeout,
            slots: Semaphore::new(opts.concurrency.max(1)),
            max_body: opts.max_body,
            max_frames: opts.max_frames,
        }
    }
}

/// A refusal or a failure, answered as `{"error": message}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        let status = match e {
            // The picture sent is the problem.
            QueryError::Upload(_) | QueryError::Image(_) => StatusCode::UNPROCESSABLE_ENTITY,
            QueryError::Option { .. } => StatusCode::BAD_REQUEST,
            QueryError::Video(v) => return video_error(&v),
            // The index is: ours.
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

/// The answer to a video upload that could not be hashed. The message
/// leaves out the temporary file's path: the upload is the subject.
fn video_error(e: &VideoError) -> ApiError {
    let status = match e {
        // Writing the temporary file failed: ours.
        VideoError::Io { .. } | VideoError::NotAFile { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        // A codec or container only ffmpeg reads, and it is not installed.
        VideoError::NeedsFfmpeg { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        VideoError::Deadline { .. } => StatusCode::SERVICE_UNAVAILABLE,
        // The upload is not a readable video.
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    // ffmpeg's own messages name the file too.
    let reason = e
        .reason()
        .replace(&e.path().display().to_string(), "the upload");
    ApiError::new(status, format!("the video cannot be read: {reason}"))
}

/// The application: routes, body limit, authentication and metrics.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/v1/query", post(query))
        .route("/v1/items/{id}", get(item))
        .route("/v1/items/{id}/thumb", get(thumb))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .layer(DefaultBodyLimit::max(state.max_body))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            super::auth::check,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

/// Counts each request by route and status, with its latency.
async fn count(StateOf(state): StateOf<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("other", |p| p.as_str())
        .to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    state
        .metrics
        .record(&route, resp.status().as_u16(), start.elapsed());
    resp
}

/// Runs `work` on the blocking pool, in one of the slots, within the
/// timeout; 503 when either runs out.
async fn blocking<T: Send + 'static>(
    state: &State,
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let busy = || {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "no answer within {:?}: the service is busy or the lookup too slow",
                state.timeout
            ),
        )
    };
    let run = async {
        let _slot = state.slots.acquire().await.map_err(|_| busy())?;
        tokio::task::spawn_blocking(work).await.map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the lookup failed: {e}"),
            )
        })?
    };
    tokio::time::timeout(state.timeout, run)
        .await
        .unwrap_or_else(|_| Err(busy()))
}

async fn query(
    StateOf(state): StateOf<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                format!("the body is over the limit of {} bytes", state.max_body),
            )
        } else {
            ApiError::new(status, format!("cannot read the body: {}", e.body_text()))
        }
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let (q, opts) = super::body::parse(content_type, uri.query(), body.to_vec()).map_err(|r| {
        ApiError::new(
            StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST),
            r.message,
        )
    })?;
    let index = state.index.clone();
    // A video decodes on its blocking thread within the frame budget, and
    // stops at the request's deadline (its answer is a 503 by then).
    let (max_frames, deadline) = (state.max_frames, Instant::now() + state.timeout);
    let answer = blocking(&state, move || {
        let reader = index.snapshot();
        let searcher = Searcher::new(&reader, index.max_pixels())?
            .with_max_frames(max_frames)
            .with_deadline(Some(deadline));
        Ok(searcher.answer(&q, &opts)?)
    })
    .await?;
    Ok(Json(answer).into_response())
}

async fn item(
    StateOf(state): StateOf<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let index = state.index.clone();
    let found = blocking(&state, move || {
        let reader = index.snapshot();
        Ok(Searcher::new(&reader, index.max_pixels())?.item(&id)?)
    })
    .await?;
    match found {
        Some(m) => Ok(Json(m).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no live item has this id",
        )),
    }
}

async fn thumb(
    StateOf(state): StateOf<AppState>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let index = state.index.clone();
    // `?at=SECONDS` picks a video's frame (a match's `at`).
    let at = uri
        .query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("at="))
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|t| t.is_finite());
    let jpeg = blocking(&state, move || {
        let reader = index.snapshot();
        let m = Searcher::new(&reader, index.max_pixels())?
            .item(&id)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no live item has this id"))?;
        if !matches!(m.kind, "image" | "video") || m.path.is_empty() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("item {id:?} is not a picture or a video"),
            ));
        }
        let path = std::path::Path::new(&m.path);
        let made = if m.kind == "video" {
            let frame = video_frame(&reader, &id, at).map_err(QueryError::from)?;
            crate::report::thumbs::frame_jpeg(path, frame)
        } else {
            crate::report::thumbs::make_jpeg(path)
        };
        made.map_err(|reason| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("{}: no thumbnail: {reason}", m.path),
            )
        })
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        jpeg,
    )
        .into_response())
}

/// The frame of stored video `id` to show: the stored frame nearest to
/// second `at`, else its first stored frame, else frame 0.
fn video_frame(
    reader: &neardup_index::Reader,
    id: &str,
    at: Option<f64>,
) -> neardup_index::Result<u64> {
    let Some(r) = reader.get_by_id(id)? else {
        return Ok(0);
    };
    let frames = crate::schema::VideoRecord::from_snippet(reader.record(r.item)?.snippet)
        .map(|v| v.frames)
        .unwrap_or_default();
    let nearest = match at {
        Some(t) => frames
            .iter()
            .min_by(|a, b| (a.t - t).abs().total_cmp(&(b.t - t).abs())),
        None => frames.first(),
    };
    Ok(nearest.map_or(0, |f| f.frame))
}

async fn healthz(StateOf(state): StateOf<AppState>) -> Response {
    let reader = state.index.snapshot();
    let damage = state
        .index
        .damage
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let body = serde_json::json!({
        "status": if damage.is_some() { "damaged" } else { "ok" },
        "generation": reader.generation(),
        "items": reader.len(),
        "damage": damage,
    });
    let status = if damage.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, Json(body)).into_response()
}

async fn metrics(StateOf(state): StateOf<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&state.index),
    )
        .into_response()
}

async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}
