//! Shared helpers for daylight's multi-node integration tests.
