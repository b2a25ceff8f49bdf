//! What a node says about itself: `/healthz`, `/metrics`, `/v1/network`, the evidence it
//! holds, and the auditor's report (as JSON; the portal's `/audit` page shows it).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::*;

/// `GET /healthz`: `{"status":"ok"}` (200), or `{"status":"degraded","problems":[...]}` (503)
/// naming each problem and what the node does about it. Answers from memory only, so it
/// stays fast whatever the disk or the database is doing.
pub(super) async fn healthz(State(state): Shared) -> Response {
    let problems: Vec<daylight_api::Problem> = state
        .health
        .report()
        .into_iter()
        .map(|p| daylight_api::Problem {
            kind: p.kind.to_string(),
            detail: p.detail,
        })
        .collect();
    let (status, health) = if problems.is_empty() {
        (StatusCode::OK, daylight_api::HealthStatus::Ok)
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            daylight_api::HealthStatus::Degraded,
        )
    };
    let body = daylight_api::Health {
        status: health,
        problems,
        warnings: warnings(&state),
    };
    (status, axum::Json(body)).into_response()
}

/// The node's liveness warnings, as the API carries them.
fn warnings(state: &AppState) -> Vec<daylight_api::Problem> {
    state
        .health
        .warnings()
        .into_iter()
        .map(|w| daylight_api::Problem {
            kind: w.kind.to_string(),
            detail: w.detail,
        })
        .collect()
}

pub(super) async fn metrics(
    State(state): Shared,
    axum::Extension(guards): axum::Extension<Arc<crate::serve::HttpGuards>>,
) -> Result<Response, ApiError> {
    let mut out = String::new();
    guards.metrics.render(&mut out);
    let (m, integrity) = (&state.metrics, &state.integrity);
    let counters: [(&str, &str, u64); 8] = [
        (
            "daylight_http_requests_total",
            "HTTP requests received.",
            m.requests.load(Ordering::Relaxed),
        ),
        (
            "daylight_records_logged_total",
            "Records made durable in the log.",
            m.records_logged.load(Ordering::Relaxed),
        ),
        (
            "daylight_mirror_entries_fetched_total",
            "Entries fetched from peers, verified and stored since start.",
            state.replication.entries_fetched(),
        ),
        (
            "daylight_records_refused_total",
            "Submissions refused.",
            m.records_refused.load(Ordering::Relaxed),
        ),
        (
            "daylight_problems_raised_total",
            "Problems (damage, failing writes) raised since start.",
            state.health.raised_total(),
        ),
        (
            "daylight_damage_found_total",
            "Damaged stored items found (on read or by the scrub) since start.",
            integrity.damage_found.load(Ordering::Relaxed),
        ),
        (
            "daylight_repairs_total",
            "Repairs of damaged stored items written since start.",
            integrity.repairs.load(Ordering::Relaxed),
        ),
        (
            "daylight_scrubbed_entries_total",
            "Stored entries checked by the background scrub since start.",
            integrity.scrubbed.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, value) in counters {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
        ));
    }
    out.push_str(
        "# HELP daylight_problems Problems raised now, by kind (0 when healthy).\n\
         # TYPE daylight_problems gauge\n",
    );
    for (kind, count) in state.health.counts() {
        out.push_str(&format!("daylight_problems{{kind=\"{kind}\"}} {count}\n"));
    }
    out.push_str(
        "# HELP daylight_log_size Entries in each log held.\n# TYPE daylight_log_size gauge\n",
    );
    let sizes = on_blocking_pool(state.clone(), |state| {
        Ok(state
            .logs
            .iter()
            .filter_map(|log| Some((log.member.clone(), state.head(log).ok()?.0)))
            .collect::<Vec<_>>())
    })
    .await?;
    for (member, size) in sizes {
        out.push_str(&format!("daylight_log_size{{log=\"{member}\"}} {size}\n"));
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        out,
    )
        .into_response())
}

pub(super) async fn network(State(state): Shared) -> Result<Response, ApiError> {
    let peers = state.network.peers().await.unwrap_or_default();
    // Every genesis member but this node, connected or not, and when it was last heard from.
    let links = state.network.members().await.unwrap_or_default();
    let own_id = state.publisher.as_ref().map(|p| p.member.as_str());
    let chain = state.genesis.current();
    let member_links: Vec<daylight_api::MemberLink> = chain
        .latest()
        .members()
        .iter()
        .filter(|m| Some(m.id.as_str()) != own_id)
        .map(|m| {
            let link = links.iter().find(|l| l.peer_id == m.peer_id);
            daylight_api::MemberLink {
                member: m.id.clone(),
                peer_id: m.peer_id.clone(),
                connected: link.is_some_and(|l| l.connected),
                last_seen: link.and_then(|l| l.last_seen.clone()),
            }
        })
        .collect();
    let (logs, evidence) = on_blocking_pool(state.clone(), |state| {
        let mut logs = Vec::new();
        for log in state.logs.iter() {
            let head = state.head(log).ok();
            logs.push(daylight_api::LogInfo {
                member: log.member.clone(),
                origin: log.origin.clone(),
                size: head.as_ref().map(|h| h.0),
                entries_held: state.store.size(log.number).unwrap_or(0),
                checkpoint: head.as_ref().map(|h| h.1.to_string()),
                equivocating: state.store.is_equivocating(&log.origin).unwrap_or(false),
            });
        }
        let evidence: Vec<serde_json::Value> = state
            .store
            .evidence()
            .map_err(ApiError::internal)?
            .iter()
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect();
        Ok((logs, evidence))
    })
    .await?;
    Ok(axum::Json(daylight_api::NetworkInfo {
        genesis: chain.network_id().to_string(),
        genesis_sequence: chain.sequence(),
        genesis_latest: chain.latest().id().to_string(),
        network: chain.latest().network().to_string(),
        member: state.publisher.as_ref().map(|p| p.member.clone()),
        peer_id: state.network.local_peer.to_string(),
        peers: peers
            .into_iter()
            .map(|p| daylight_api::Peer {
                peer_id: p.peer_id,
                score: p.score,
            })
            .collect(),
        members: member_links,
        logs,
        evidence,
        warnings: warnings(&state),
    })
    .into_response())
}

pub(super) async fn evidence(State(state): Shared) -> Result<Response, ApiError> {
    let documents = on_blocking_pool(state, |state| {
        state.store.evidence().map_err(ApiError::internal)
    })
    .await?;
    let values: Vec<serde_json::Value> = documents
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    Ok(axum::Json(values).into_response())
}

/// The latest audit report, or why there is none.
pub(super) async fn audit_report(
    state: &AppState,
) -> Result<Arc<daylight_verifier::audit::AuditReport>, ApiError> {
    let auditor = state.auditor.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_an_auditor",
            "this node is not an auditor; ask an auditor member's node, or run `daylight audit`",
        )
    })?;
    auditor.report().await.ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_pending",
            "the first audit has not finished yet; try again in a moment",
        )
    })
}

/// `GET /v1/audit`: the auditor's report as JSON.
pub(super) async fn audit_json(State(state): Shared) -> Result<Response, ApiError> {
    let report = audit_report(&state).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        report.to_json(),
    )
        .into_response())
}
