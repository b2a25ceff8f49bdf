//! [`ApiError`]: every error the API answers, as JSON `{"error", "detail"}` with its status
//! (and `Retry-After` when waiting helps), and how submit, sequencer and integrity failures
//! map onto it.

use crate::integrity::Damage;
use crate::publish::sequencer::SequencerError;
use crate::publish::submit::SubmitError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A JSON error response: `{"error": <code>, "detail": <explanation>}` with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: &'static str,
    detail: String,
    /// Seconds for a `Retry-After` header, when trying again later can succeed.
    retry_after: Option<u32>,
}

impl ApiError {
    /// An error with a status, a short machine-readable code and a human explanation.
    pub fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// The same error, telling the client to try again after `seconds` (`Retry-After`).
    pub fn retry_after(mut self, seconds: u32) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    /// The JSON body's text.
    pub fn json_text(&self) -> String {
        serde_json::to_string(&self.body()).unwrap_or_default()
    }

    /// The JSON body.
    fn body(&self) -> daylight_api::ErrorBody {
        daylight_api::ErrorBody {
            error: self.error.to_string(),
            detail: self.detail.clone(),
        }
    }

    pub(super) fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    pub(super) fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub(super) fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {detail}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            detail.to_string(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> ApiError {
        match e {
            SubmitError::Invalid { .. } | SubmitError::Malformed(_) | SubmitError::Empty => {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_record",
                    e.to_string(),
                )
            }
            SubmitError::DuplicateInSubmission { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "duplicate_rid_in_submission",
                e.to_string(),
            ),
            SubmitError::Sequencer(SequencerError::DuplicateRid(_)) => {
                ApiError::new(StatusCode::CONFLICT, "duplicate_rid", e.to_string())
            }
            SubmitError::Sequencer(SequencerError::Unresolved { .. }) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unresolved_reference",
                e.to_string(),
            ),
            SubmitError::Sequencer(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "log_unavailable",
                e.to_string(),
            ),
        }
    }
}

impl From<Damage> for ApiError {
    fn from(e: Damage) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "damaged", e.to_string())
    }
}
