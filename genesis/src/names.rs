//! The names daylight derives from a network name, a member id and a genesis id.
//!
//! Every key, log origin and gossip topic of a network is named by a fixed rule (DESIGN §3.4,
//! §5.3, §6), so that a name alone says which network and member it belongs to, and so that the
//! node, the CLI and third-party tools all derive the same strings from the genesis file.

/// The origin line of a member's log, which is also its log key's name: `<network>/<member id>`.
pub fn origin(network: &str, member_id: &str) -> String {
    format!("{network}/{member_id}")
}

/// The name of a member's log key: its origin, `<network>/<member id>`.
pub fn log_key_name(network: &str, member_id: &str) -> String {
    origin(network, member_id)
}

/// The name of a member's witness (cosignature) key: `<network>/<member id>/witness`.
pub fn witness_key_name(network: &str, member_id: &str) -> String {
    format!("{network}/{member_id}/witness")
}

/// The name of an operator key a member accepts: `<network>/<member id>/operator/<name>`.
pub fn operator_key_name(network: &str, member_id: &str, name: &str) -> String {
    attestor_key_name(network, member_id, OPERATOR_ROLE, name)
}

/// The name of an attestor key: `<network>/<member id>/<role>/<name>`.
pub fn attestor_key_name(network: &str, member_id: &str, role: &str, name: &str) -> String {
    format!("{network}/{member_id}/{role}/{name}")
}

/// The role segment of an operator or attestor key name `<network>/<member id>/<role>/<name>`:
/// `operator` for an operator key, else the attestor role; `None` if the name does not have
/// that shape for this network and member.
pub fn holder_role<'a>(network: &str, member_id: &str, key_name: &'a str) -> Option<&'a str> {
    let rest = key_name
        .strip_prefix(network)?
        .strip_prefix('/')?
        .strip_prefix(member_id)?
        .strip_prefix('/')?;
    let (role, name) = rest.split_once('/')?;
    let valid_role = role == OPERATOR_ROLE || is_valid_attestor_role(role);
    (valid_role && is_valid_key_holder_name(name)).then_some(role)
}

/// Whether `id` has the form of a genesis id: 64 lowercase hex digits.
pub fn is_genesis_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The gossip topic that carries checkpoints: `daylight/<genesis id>/checkpoints/1`.
pub fn checkpoint_topic(genesis_id: &str) -> String {
    format!("daylight/{genesis_id}/checkpoints/1")
}

/// The gossip topic that carries evidence of misbehaviour: `daylight/<genesis id>/evidence/1`.
pub fn evidence_topic(genesis_id: &str) -> String {
    format!("daylight/{genesis_id}/evidence/1")
}

/// The path segment used for operator keys; no attestor role may take it.
pub const OPERATOR_ROLE: &str = "operator";

/// The path segment used for witness keys; no attestor role may take it.
pub const WITNESS_SEGMENT: &str = "witness";

/// Whether `name` is a valid network name: 1 to 64 of `a-z 0-9 . -`, starting with a letter or
/// digit. No `/`, so that `<network>/<member id>` splits one way only.
pub fn is_valid_network_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// Whether `id` is a valid member id: 1 to 64 of `a-z 0-9 -`, starting with a letter.
/// Member ids appear in key names, origins and URL paths (`/log/<member id>`).
pub fn is_valid_member_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whether `role` is a valid attestor role: 1 to 32 of `a-z 0-9 _`, starting with a letter,
/// and neither `operator` nor `witness` (those segments name other kinds of key).
pub fn is_valid_attestor_role(role: &str) -> bool {
    (1..=32).contains(&role.len())
        && role.starts_with(|c: char| c.is_ascii_lowercase())
        && role
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && role != OPERATOR_ROLE
        && role != WITNESS_SEGMENT
}

/// Whether `name` is a valid last segment of an operator or attestor key name: 1 to 64 of
/// `a-z A-Z 0-9 . _ -`.
pub fn is_valid_key_holder_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_names() {
        assert_eq!(
            origin("demo.daylight", "county-320206"),
            "demo.daylight/county-320206"
        );
        assert_eq!(
            witness_key_name("demo.daylight", "city-320200"),
            "demo.daylight/city-320200/witness"
        );
        assert_eq!(
            operator_key_name("demo.daylight", "city-320200", "alice"),
            "demo.daylight/city-320200/operator/alice"
        );
        assert_eq!(checkpoint_topic("ab"), "daylight/ab/checkpoints/1");
        assert_eq!(evidence_topic("ab"), "daylight/ab/evidence/1");
    }

    #[test]
    fn name_rules() {
        assert!(is_valid_network_name("demo.daylight"));
        for bad in ["", "Demo", "a/b", ".x", "a b", &"x".repeat(65)] {
            assert!(!is_valid_network_name(bad), "{bad:?}");
        }
        assert!(is_valid_member_id("county-320206"));
        for bad in ["", "1city", "City", "a/b", "a_b", "a.b"] {
            assert!(!is_valid_member_id(bad), "{bad:?}");
        }
        assert!(is_valid_attestor_role("village_committee"));
        for bad in ["", "operator", "witness", "Township", "a-b", "_x"] {
            assert!(!is_valid_attestor_role(bad), "{bad:?}");
        }
        assert!(is_valid_key_holder_name("Alice.Zhang-2"));
        assert!(!is_valid_key_holder_name("a/b"));
        let role = |name| holder_role("demo.daylight", "county-1", name);
        assert_eq!(
            role("demo.daylight/county-1/operator/clerk1"),
            Some("operator")
        );
        assert_eq!(
            role("demo.daylight/county-1/township/office"),
            Some("township")
        );
        for bad in [
            "demo.daylight/county-1/witness",
            "demo.daylight/county-1",
            "demo.daylight/county-2/operator/clerk1",
            "demo.daylight/county-1/witness/x",
            "demo.daylight/county-1/operator/a/b",
        ] {
            assert_eq!(role(bad), None, "{bad}");
        }
        assert!(is_genesis_id(&"ab".repeat(32)));
        assert!(!is_genesis_id(&"AB".repeat(32)));
        assert!(!is_genesis_id("ab"));
    }
}
