//! A member's checkpoint against the pinned genesis: the log's signature (with the key its
//! size calls for, across key rotations) and the witness quorum, saying who cosigned.

use daylight_genesis::GenesisChain;
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::note::Note;
use daylight_verifier::policy::PolicyError;
use serde_json::{Value, json};

use crate::check::Check;

/// A checkpoint's body as the portal shows and stores it (root in lowercase hex).
pub fn describe(checkpoint: &Checkpoint) -> Value {
    json!({
        "origin": checkpoint.origin, "size": checkpoint.size,
        "root": checkpoint.root.to_hex(),
    })
}

/// The outcome of checking one checkpoint note.
pub struct Verified {
    /// `checkpoint_signature` and `witness_quorum`.
    pub checks: Vec<Check>,
    /// The checkpoint body, when the note could be read at all (even if not trusted).
    pub checkpoint: Option<Checkpoint>,
    /// The witnesses whose cosignatures counted.
    pub cosigners: Vec<String>,
}

impl Verified {
    /// Whether the checkpoint is trusted: signed by the log and cosigned by a quorum.
    pub fn trusted(&self) -> bool {
        self.checks.len() == 2 && self.checks.iter().all(|c| c.ok)
    }

    /// As JSON: `{ok, checks, checkpoint, cosigners}`.
    pub fn to_json(&self) -> Value {
        json!({
            "ok": self.trusted(), "checks": self.checks,
            "checkpoint": self.checkpoint.as_ref().map(describe),
            "cosigners": self.cosigners,
        })
    }
}

/// Checks the checkpoint `note` of the log of member `log` against the latest version of
/// `chain`. When `log` is empty, the member is found by the checkpoint's origin.
pub fn verify(chain: &GenesisChain, log: &str, note: &[u8]) -> Verified {
    let genesis = chain.latest();
    let body = Note::parse(note)
        .ok()
        .and_then(|n| Checkpoint::parse(&n.text).ok());
    let mut out = Verified {
        checks: Vec::new(),
        checkpoint: body.clone(),
        cosigners: Vec::new(),
    };
    let not_checked = |why: &str| {
        Check::fail(
            "witness_quorum",
            "not_checked",
            format!("not checked: {why}"),
        )
    };
    let member = if log.is_empty() {
        body.as_ref()
            .and_then(|b| genesis.definition().member_by_origin(&b.origin))
            .map(|m| m.id.clone())
    } else {
        genesis.member(log).map(|m| m.id.clone())
    };
    let Some(member) = member else {
        let what = match (&body, log.is_empty()) {
            (_, false) => format!("log {log:?}"),
            (Some(b), true) => format!("origin {:?}", b.origin),
            (None, true) => "an unreadable checkpoint".to_string(),
        };
        out.checks.push(Check::fail(
            "checkpoint_signature",
            "unknown_log",
            format!(
                "the pinned genesis {} lists no member for {what}",
                genesis.id()
            ),
        ));
        out.checks.push(not_checked("the log is unknown"));
        return out;
    };
    let policy = match genesis.policy_for(&member) {
        Ok(policy) => policy,
        Err(e) => {
            out.checks.push(Check::fail(
                "checkpoint_signature",
                "bad_genesis",
                format!("the genesis gives no trust policy for {member}: {e}"),
            ));
            out.checks.push(not_checked("no trust policy"));
            return out;
        }
    };
    let signed = match policy.open(note) {
        Ok(signed) => signed,
        Err(e) => {
            let code = match &e {
                PolicyError::BeyondRetirement { .. } => "retired",
                PolicyError::RetirementRootMismatch { .. }
                | PolicyError::RotationRootMismatch { .. } => "conflicting_root",
                _ => "bad_signature",
            };
            out.checks.push(Check::fail(
                "checkpoint_signature",
                code,
                format!(
                    "the checkpoint is not validly signed by the log key of {member} in \
                     genesis {}: {e}",
                    genesis.id()
                ),
            ));
            out.checks
                .push(not_checked("the log signature did not verify"));
            return out;
        }
    };
    out.checks.push(Check::pass(
        "checkpoint_signature",
        format!(
            "checkpoint of {} (size {}) is signed by the log key of {member} in genesis {}",
            signed.checkpoint.origin,
            signed.checkpoint.size,
            genesis.id()
        ),
    ));
    out.checkpoint = Some(signed.checkpoint.clone());
    match policy.verify_cosignatures(signed) {
        Ok(trusted) => {
            out.cosigners = trusted.cosigners.iter().map(|c| c.name.clone()).collect();
            out.checks.push(Check::pass(
                "witness_quorum",
                format!(
                    "{} witnesses cosigned ({} required): {}",
                    out.cosigners.len(),
                    policy.quorum(),
                    out.cosigners.join(", ")
                ),
            ));
        }
        Err(PolicyError::QuorumNotMet(s)) => {
            out.cosigners = s.cosigned_by.clone();
            out.checks
                .push(Check::fail("witness_quorum", "no_quorum", s.to_string()));
        }
        Err(e) => out
            .checks
            .push(Check::fail("witness_quorum", "no_quorum", e.to_string())),
    }
    out
}
