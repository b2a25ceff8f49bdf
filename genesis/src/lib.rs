//! # daylight-genesis
//!
//! The network definition (DESIGN §6). Implemented in the foundation issue.
