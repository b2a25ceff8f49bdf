//! # daylight-node
//!
//! The node an agency or auditor runs. For now it only carries the command-line surface;
//! storage, the sequencer, the HTTP API and networking arrive with the node and network issues.
