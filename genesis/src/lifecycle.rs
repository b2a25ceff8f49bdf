//! The rules a single version's lifecycle fields follow (rules 10 and 11 of
//! `docs/genesis.md`): its number, the id of the version before it, the founder threshold,
//! and each member's history (retirement point, earlier keys in order). The rules *between*
//! two versions are in `link`.

use crate::builder::GenesisBuilder;
use crate::error::GenesisError;
use crate::member::Member;
use crate::names;

/// Largest number written in a history field: TOML integers are signed 64-bit.
const MAX_NUMBER: u64 = i64::MAX as u64;

/// Checks the version fields, then each member's history.
pub(crate) fn check(draft: &GenesisBuilder) -> Result<(), GenesisError> {
    check_version(draft)?;
    for member in &draft.members {
        check_history(member)?;
    }
    Ok(())
}

fn check_version(draft: &GenesisBuilder) -> Result<(), GenesisError> {
    let sequence = draft.sequence;
    if sequence == 0 || sequence > MAX_NUMBER {
        return Err(GenesisError::InvalidSequence(sequence));
    }
    match (&draft.previous, sequence) {
        (Some(_), 1) => return Err(GenesisError::PreviousInFirstVersion),
        (None, _) if sequence > 1 => return Err(GenesisError::MissingPrevious { sequence }),
        (Some(id), _) if !names::is_genesis_id(id) => {
            return Err(GenesisError::InvalidPrevious(id.clone()));
        }
        _ => {}
    }
    if let Some(threshold) = draft.founder_threshold {
        let founders = match &draft.founders {
            Some(list) => list.len(),
            None => draft.members.iter().filter(|m| !m.is_retired()).count(),
        };
        if threshold == 0 || threshold > founders {
            return Err(GenesisError::InvalidFounderThreshold {
                threshold,
                founders,
            });
        }
    }
    Ok(())
}

fn field_error(member: &Member, field: String, reason: String) -> GenesisError {
    GenesisError::InvalidField {
        member: member.id.clone(),
        field,
        reason,
    }
}

fn check_number(member: &Member, field: String, value: u64) -> Result<(), GenesisError> {
    if value > MAX_NUMBER {
        return Err(field_error(
            member,
            field,
            format!("{value} is larger than 2^63-1, the largest integer a genesis file holds"),
        ));
    }
    Ok(())
}

fn check_history(m: &Member) -> Result<(), GenesisError> {
    let mut last_size = None;
    for (i, p) in m.previous_log_keys.iter().enumerate() {
        let field = format!("previous_log_keys[{i}].last_size");
        check_number(m, field.clone(), p.last_size)?;
        if let Some(before) = last_size
            && p.last_size <= before
        {
            return Err(field_error(
                m,
                field,
                format!(
                    "rotation point {} is not after the one before it ({before}); list earlier log keys oldest first, each with the size of the last checkpoint it signed",
                    p.last_size
                ),
            ));
        }
        last_size = Some(p.last_size);
    }
    let mut last_until = None;
    for (i, p) in m.previous_witness_keys.iter().enumerate() {
        let field = format!("previous_witness_keys[{i}].until");
        check_number(m, field.clone(), p.until)?;
        if let Some(before) = last_until
            && p.until <= before
        {
            return Err(field_error(
                m,
                field,
                format!(
                    "{} is not after the `until` of the key before it ({before}); list earlier witness keys oldest first",
                    p.until
                ),
            ));
        }
        last_until = Some(p.until);
    }
    for (i, r) in m.revoked.iter().enumerate() {
        check_number(m, format!("revoked[{i}].from_index"), r.from_index)?;
    }
    if let Some(r) = &m.retired {
        check_number(m, "retired.size".to_string(), r.size)?;
        if let Some(last) = m.previous_log_keys.last()
            && (r.size < last.last_size || (r.size == last.last_size && r.root != last.last_root))
        {
            return Err(field_error(
                m,
                "retired".to_string(),
                format!(
                    "the retirement point (size {}) comes before, or differs from, the last log-key rotation point (size {}); a log retires at or after its last rotation",
                    r.size, last.last_size
                ),
            ));
        }
    }
    Ok(())
}
