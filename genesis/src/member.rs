//! A member of the network: who it is, where to reach it, and which keys speak for it.

use std::fmt;
use std::str::FromStr;

use daylight_verifier::key::VerifierKey;
pub use daylight_verifier::policy::{PreviousLogKey, PreviousWitnessKey, Retirement};

/// What kind of body a member is; it decides which parent a member may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A city finance or relief bureau: allocates funds to its counties. Has no parent.
    City,
    /// A county bureau: receives from its city, pays projects and households. Its parent is a city.
    County,
    /// An audit office, inspection body or newsroom: checks and cosigns, publishes findings.
    /// Its parent, if any, is the city or county it belongs to.
    Auditor,
}

impl Role {
    /// The role as written in the genesis file: `city`, `county` or `auditor`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::City => "city",
            Role::County => "county",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    /// Parses `city`, `county` or `auditor`.
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "city" => Ok(Role::City),
            "county" => Ok(Role::County),
            "auditor" => Ok(Role::Auditor),
            other => Err(format!(
                "unknown role {other:?}: expected city, county or auditor"
            )),
        }
    }
}

/// A key whose signature on a member's records counts as an attestation by `role`
/// (a village committee, a township, an auditor...), DESIGN §4.1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestor {
    /// The attesting role, e.g. `village_committee`; also the third segment of the key name.
    pub role: String,
    /// The attestor's key, type 0x01, named `<network>/<member id>/<role>/<name>`.
    pub key: VerifierKey,
}

/// An operator or attestor key of a member, revoked by a later genesis version: its
/// signatures count only on entries of the member's log with an index below `from_index`.
/// Whether it was an operator or an attestor key (and in which role) is in its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedKey {
    /// The revoked key, named `<network>/<id>/operator/<name>` or `<network>/<id>/<role>/<name>`.
    pub key: VerifierKey,
    /// The first index of the log at which its signatures no longer count.
    pub from_index: u64,
}

/// One member of the network, as listed in the genesis file.
///
/// Fields are public so that a draft can be assembled freely; every rule is checked when the
/// draft becomes a [`crate::Definition`], which is immutable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Member id, e.g. `county-320206`; the log's origin is `<network>/<id>`.
    pub id: String,
    /// City, county or auditor.
    pub role: Role,
    /// Human-readable name, e.g. the bureau's official name.
    pub name: String,
    /// Administrative division code (GB/T 2260 style digits), e.g. `320206`.
    pub division: String,
    /// The member above this one (a county's city), by id.
    pub parent: Option<String>,
    /// The key that signs this member's checkpoints and the genesis (type 0x01, named by origin).
    pub log_key: VerifierKey,
    /// The key that cosigns other logs' checkpoints (type 0x04, named `<origin>/witness`).
    pub witness_key: VerifierKey,
    /// The libp2p peer id of the member's node, e.g. `12D3KooW...`.
    pub peer_id: String,
    /// The node's libp2p listen addresses, as multiaddrs (`/ip4/127.0.0.1/tcp/4001`), in order of
    /// preference.
    pub addresses: Vec<String>,
    /// Base URL of the node's HTTP API, if it serves one (`http://127.0.0.1:8080`).
    pub http: Option<String>,
    /// Operator keys whose signature publishes a record in this member's log.
    pub operators: Vec<VerifierKey>,
    /// Attestor keys whose signatures on this member's records count, with their roles.
    pub attestors: Vec<Attestor>,
    /// The members that witness this log, by id; `None` means every other member that is not
    /// retired.
    pub witnesses: Option<Vec<String>>,
    /// Set when the member is retired (DESIGN §6b): its log ends at this checkpoint. A retired
    /// member is no founder and witnesses no log.
    pub retired: Option<Retirement>,
    /// Earlier log keys with their rotation points, oldest first.
    pub previous_log_keys: Vec<PreviousLogKey>,
    /// Earlier witness keys, oldest first, each counting on cosignatures made before `until`.
    pub previous_witness_keys: Vec<PreviousWitnessKey>,
    /// Operator and attestor keys revoked, oldest first.
    pub revoked: Vec<RevokedKey>,
}

impl Member {
    /// A member with the required fields; no parent, addresses, URL, operators or attestors,
    /// the default witnesses (every other member), and no history.
    pub fn new(
        id: &str,
        role: Role,
        name: &str,
        division: &str,
        log_key: VerifierKey,
        witness_key: VerifierKey,
        peer_id: &str,
    ) -> Member {
        Member {
            id: id.to_string(),
            role,
            name: name.to_string(),
            division: division.to_string(),
            parent: None,
            log_key,
            witness_key,
            peer_id: peer_id.to_string(),
            addresses: Vec::new(),
            http: None,
            operators: Vec::new(),
            attestors: Vec::new(),
            witnesses: None,
            retired: None,
            previous_log_keys: Vec::new(),
            previous_witness_keys: Vec::new(),
            revoked: Vec::new(),
        }
    }

    /// Whether the member is retired.
    pub fn is_retired(&self) -> bool {
        self.retired.is_some()
    }

    /// The keys the member lists now, each with the field that holds it: `log_key`,
    /// `witness_key`, `operators[i]` and `attestors[i].key`, in that order.
    pub(crate) fn current_keys(&self) -> impl Iterator<Item = (String, &VerifierKey)> {
        [
            ("log_key".to_string(), &self.log_key),
            ("witness_key".to_string(), &self.witness_key),
        ]
        .into_iter()
        .chain(
            self.operators
                .iter()
                .enumerate()
                .map(|(i, k)| (format!("operators[{i}]"), k)),
        )
        .chain(
            self.attestors
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("attestors[{i}].key"), &a.key)),
        )
    }

    /// Every key the member lists, each with its field: the current ones
    /// ([`Member::current_keys`]), then `previous_log_keys[i].key`,
    /// `previous_witness_keys[i].key` and `revoked[i].key`.
    pub(crate) fn all_keys(&self) -> impl Iterator<Item = (String, &VerifierKey)> {
        self.current_keys()
            .chain(
                self.previous_log_keys
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (format!("previous_log_keys[{i}].key"), &p.key)),
            )
            .chain(
                self.previous_witness_keys
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (format!("previous_witness_keys[{i}].key"), &p.key)),
            )
            .chain(
                self.revoked
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (format!("revoked[{i}].key"), &r.key)),
            )
    }

    /// The attestor keys of one role.
    pub fn attestors_with_role<'a>(
        &'a self,
        role: &'a str,
    ) -> impl Iterator<Item = &'a VerifierKey> {
        self.attestors
            .iter()
            .filter(move |a| a.role == role)
            .map(|a| &a.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for role in [Role::City, Role::County, Role::Auditor] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("province".parse::<Role>().is_err());
    }
}
