//! `daylight flow`: trace where a record's money came from, hop by hop across logs, through
//! the `funded_by` references that pin exact versions (`log`, `rid`, `leaf`), verifying each
//! hop: the pinned leaf is the fetched record or one of its corrections, and it is included
//! under a quorum-cosigned checkpoint of its log.
//!
//! A node that cannot be reached is named in the report and the trace goes on with the other
//! nodes; the run then exits 3 (unreachable) unless something failed to verify (exit 1). When
//! no node answers at all, nothing is traced and the command fails with exit 3.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use daylight_genesis::Genesis;
use daylight_verifier::Hash;
use daylight_verifier::policy::TrustedCheckpoint;
use daylight_verifier::record::{Money, SignedRecord};
use serde_json::{Value, json};

use crate::check::{
    Fetched, Target, Version, check_entry, check_inclusion, check_seen, describe_checkpoint,
    effective_body, member_of_rid, trusted_checkpoint,
};
use crate::error::{CliError, input};
use crate::output::Report;
use crate::seen::{SeenStore, data_dir};
use crate::source::Source;

/// Deepest chain followed (a city allocation → county receipt → payment is 3).
const MAX_DEPTH: usize = 32;

/// One hop of the flow: a record version and where its money came from.
#[derive(Clone, Debug)]
pub struct Hop {
    /// The log's member id.
    pub log: String,
    /// The record id.
    pub rid: String,
    /// The leaf of the version (pinned by the reference, or the record's own at the root).
    pub leaf: String,
    /// Its index, once found.
    pub index: Option<u64>,
    /// The record kind (of the version's effective body).
    pub kind: Option<String>,
    /// The amount the record states.
    pub amount: Option<Money>,
    /// How much the record below draws from this one (none at the root).
    pub drawn: Option<Money>,
    /// What did not verify, if anything.
    pub problem: Option<String>,
    /// Where its money came from.
    pub sources: Vec<Hop>,
}

struct Tracer<'a> {
    genesis: &'a Genesis,
    clients: Vec<Source>,
    store: SeenStore,
    checkpoints: BTreeMap<(String, String), Result<TrustedCheckpoint, String>>,
    visited: BTreeSet<String>,
    /// Nodes that could not be reached in this run (base URL → reason); not asked again.
    down: BTreeMap<String, String>,
    report: Report,
}

/// What asking the candidate nodes for a record gave.
#[derive(Default)]
struct Lookup {
    /// The first node that had it, and what it served.
    found: Option<(Source, Fetched)>,
    /// Whether some node answered (with or without the record).
    answered: bool,
    /// The nodes that could not be reached: (base URL, reason).
    unreachable: Vec<(String, String)>,
}

/// Runs `daylight flow`.
pub fn run(
    genesis: &Genesis,
    nodes: &[String],
    rid: &str,
    data_dir_flag: Option<&Path>,
) -> Result<Report, CliError> {
    let Target::Rid(rid) = Target::parse(rid)? else {
        return Err(input("flow starts from a record id, not a leaf hash"));
    };
    if nodes.is_empty() {
        return Err(input("name at least one node with --node URL"));
    }
    let clients = nodes
        .iter()
        .map(|n| Source::new(n))
        .collect::<Result<Vec<_>, _>>()?;
    let mut tracer = Tracer {
        genesis,
        clients,
        store: SeenStore::new(&data_dir(data_dir_flag)?),
        checkpoints: BTreeMap::new(),
        visited: BTreeSet::new(),
        down: BTreeMap::new(),
        report: Report::new(json!({"genesis": genesis.id(), "rid": rid})),
    };
    let root = tracer.hop(&rid, None, None, None, 0)?;
    let mut report = tracer.report;
    report.line(format!(
        "Money flow of {rid}, every hop checked against genesis {} ({}):",
        genesis.id(),
        genesis.network()
    ));
    print_tree(&mut report, &root, 0);
    report.json["flow"] = hop_json(&root);
    Ok(report)
}

impl Tracer<'_> {
    /// Sources to ask for a record of `log`: the nodes (or copies) given, then the member's
    /// own node.
    fn candidates(&self, log: &str) -> Vec<Source> {
        let mut list = self.clients.clone();
        if let Some(url) = self.genesis.member(log).and_then(|m| m.http.clone())
            && let Ok(c) = Source::new(&url)
            && !list.iter().any(|x| x.base() == c.base())
        {
            list.push(c);
        }
        list
    }

    /// Asks the candidate nodes for `rid` in turn. A node that cannot be reached is recorded
    /// in the report (exit 3) and not asked again in this run.
    fn find(&mut self, rid: &str, log: Option<&str>) -> Lookup {
        let target = Target::Rid(rid.to_string());
        let log = log.map(str::to_string).or_else(|| self.log_of(rid));
        let candidates = match &log {
            Some(l) => self.candidates(l),
            None => self.clients.clone(),
        };
        let mut lookup = Lookup::default();
        for client in candidates {
            if let Some(reason) = self.down.get(client.base()) {
                lookup
                    .unreachable
                    .push((client.base().to_string(), reason.clone()));
                continue;
            }
            match client.record(&target, Some(self.genesis)) {
                Ok(Ok(f)) => {
                    lookup.found = Some((client, f));
                    return lookup;
                }
                Ok(Err(_)) => lookup.answered = true,
                Err(CliError::Unreachable { reason, .. }) => {
                    self.report.node_unreachable(client.base(), reason.clone());
                    self.down.insert(client.base().to_string(), reason.clone());
                    lookup.unreachable.push((client.base().to_string(), reason));
                }
                Err(_) => lookup.answered = true,
            }
        }
        lookup
    }

    /// The member whose id prefixes the rid (the longest, if several do).
    fn log_of(&self, rid: &str) -> Option<String> {
        member_of_rid(rid, self.genesis.members().iter().map(|m| m.id.as_str()))
    }

    fn checkpoint(
        &mut self,
        client: &Source,
        log: &str,
    ) -> Result<Result<TrustedCheckpoint, String>, CliError> {
        let key = (client.base().to_string(), log.to_string());
        if let Some(c) = self.checkpoints.get(&key) {
            return Ok(c.clone());
        }
        let result = trusted_checkpoint(client, self.genesis, log)?;
        match &result {
            Ok(t) => {
                self.report.pass(
                    &format!("log {log} checkpoint"),
                    format!(
                        "{} at {}",
                        describe_checkpoint(t),
                        client
                            .describe()
                            .unwrap_or_else(|_| client.base().to_string())
                    ),
                );
                check_seen(
                    &mut self.report,
                    &format!("log {log} seen before"),
                    &self.store,
                    self.genesis,
                    log,
                    client,
                    t,
                )?;
            }
            Err(reason) => self
                .report
                .fail(&format!("log {log} checkpoint"), reason.clone()),
        }
        self.checkpoints.insert(key, result.clone());
        Ok(result)
    }

    /// Resolves and verifies one hop, then its sources.
    fn hop(
        &mut self,
        rid: &str,
        log: Option<&str>,
        pinned: Option<Hash>,
        drawn: Option<Money>,
        depth: usize,
    ) -> Result<Hop, CliError> {
        let mut hop = Hop {
            log: log
                .map(str::to_string)
                .or_else(|| self.log_of(rid))
                .unwrap_or_default(),
            rid: rid.to_string(),
            leaf: pinned.map(|h| h.to_hex()).unwrap_or_default(),
            index: None,
            kind: None,
            amount: None,
            drawn,
            problem: None,
            sources: Vec::new(),
        };
        let label = format!("hop {rid}");
        let lookup = self.find(rid, log);
        let Some((client, fetched)) = lookup.found else {
            if lookup.unreachable.is_empty() {
                let problem = "no node given (nor the log's own node) has this record: the reference does not resolve".to_string();
                self.report.fail(&label, problem.clone());
                hop.problem = Some(problem);
                return Ok(hop);
            }
            let nodes: Vec<&str> = lookup.unreachable.iter().map(|(u, _)| u.as_str()).collect();
            if depth == 0 && !lookup.answered {
                // Nothing to trace: no node answered at all.
                return Err(CliError::Unreachable {
                    url: nodes.join(", "),
                    reason: lookup.unreachable[0].1.clone(),
                });
            }
            // Not a verification failure: the record may be on the node that did not answer.
            hop.problem = Some(format!(
                "not fetched: node {} could not be reached{}",
                nodes.join(", node "),
                if lookup.answered {
                    " and no other node asked has this record"
                } else {
                    ""
                }
            ));
            return Ok(hop);
        };
        hop.log = fetched.log.clone();
        if let Some(l) = log
            && l != fetched.log
        {
            let problem = format!(
                "the reference names log {l}, the node has the record in log {}",
                fetched.log
            );
            self.report.fail(&label, problem.clone());
            hop.problem = Some(problem);
            return Ok(hop);
        }
        // The version: the pinned one, or at the root the record itself.
        let version: Option<&Version> = match pinned {
            None => Some(&fetched.version),
            Some(leaf) => std::iter::once(&fetched.version)
                .chain(&fetched.corrections)
                .find(|v| v.leaf() == leaf),
        };
        let Some(version) = version.cloned() else {
            let problem = format!(
                "the pinned leaf {} is neither the record's entry nor any of its {} correction(s)",
                hop.leaf,
                fetched.corrections.len()
            );
            self.report.fail(&label, problem.clone());
            hop.problem = Some(problem);
            return Ok(hop);
        };
        hop.leaf = version.leaf().to_hex();
        hop.index = Some(version.index);
        let record =
            match self.verify_version(&client, &fetched.log, &version)? {
                Ok(record) => {
                    self.report.pass(
                    &label,
                    format!(
                        "log {} index {}, leaf {} is included under a quorum-cosigned checkpoint{}",
                        fetched.log,
                        version.index,
                        hop.leaf,
                        if pinned.is_some() { " and is the pinned version" } else { "" }
                    ),
                );
                    record
                }
                Err(problem) => {
                    self.report.fail(&label, problem.clone());
                    hop.problem = Some(problem);
                    return Ok(hop);
                }
            };
        let body = effective_body(&record);
        hop.kind = Some(body.kind().as_str().to_string());
        hop.amount = body.amount().cloned();
        if !self.visited.insert(hop.leaf.clone()) {
            let problem =
                "this version was already visited: the references form a cycle".to_string();
            self.report.fail(&label, problem.clone());
            hop.problem = Some(problem);
            return Ok(hop);
        }
        if depth >= MAX_DEPTH && !body.funded_by().is_empty() {
            self.report.fail(
                &label,
                format!("funding chain deeper than {MAX_DEPTH} hops; not followed further"),
            );
            return Ok(hop);
        }
        let parts: Vec<_> = body.funded_by().to_vec();
        for part in parts {
            let r = &part.reference;
            let source = self.hop(
                r.rid.as_str(),
                Some(r.log.as_str()),
                Some(r.leaf.hash()),
                Some(part.amount),
                depth + 1,
            )?;
            hop.sources.push(source);
        }
        Ok(hop)
    }

    fn verify_version(
        &mut self,
        client: &Source,
        log: &str,
        version: &Version,
    ) -> Result<Result<SignedRecord, String>, CliError> {
        if version.leaf().to_hex() != version.claimed_leaf {
            return Ok(Err(format!(
                "entry does not hash to the leaf the node names: it hashes to {}, the node says {}",
                version.leaf(),
                version.claimed_leaf
            )));
        }
        let record = match check_entry(self.genesis, log, version.index, &version.entry) {
            Ok((record, _)) => record,
            Err(reason) => return Ok(Err(reason)),
        };
        let trusted = match self.checkpoint(client, log)? {
            Ok(t) => t,
            Err(reason) => {
                return Ok(Err(format!(
                    "log {log} has no trusted checkpoint: {reason}"
                )));
            }
        };
        if version.index >= trusted.checkpoint.size {
            return Ok(Err(format!(
                "the trusted checkpoint (size {}) does not cover index {}",
                trusted.checkpoint.size, version.index
            )));
        }
        let proof = client.inclusion(log, version.index, trusted.checkpoint.size)?;
        Ok(
            check_inclusion(version.index, &version.leaf(), &proof, &trusted.checkpoint)
                .map(|()| record),
        )
    }
}

fn money(m: &Option<Money>) -> String {
    m.as_ref()
        .map(|m| m.to_string())
        .unwrap_or_else(|| "no amount".into())
}

fn print_tree(report: &mut Report, hop: &Hop, depth: usize) {
    let indent = "    ".repeat(depth);
    let lead = if depth == 0 {
        String::new()
    } else {
        format!("<- {} from ", money(&hop.drawn))
    };
    let status = match &hop.problem {
        None => "verified".to_string(),
        Some(p) => format!("NOT VERIFIED: {p}"),
    };
    report.line(format!(
        "{indent}{lead}{} {} (log {}, index {}): {} [{status}]",
        hop.kind.as_deref().unwrap_or("record"),
        hop.rid,
        hop.log,
        hop.index
            .map(|i| i.to_string())
            .unwrap_or_else(|| "?".into()),
        money(&hop.amount),
    ));
    for s in &hop.sources {
        print_tree(report, s, depth + 1);
    }
}

fn money_json(m: &Option<Money>) -> Value {
    m.as_ref()
        .map(|m| json!({"minor": m.minor.to_string(), "currency": m.currency.code()}))
        .unwrap_or(Value::Null)
}

fn hop_json(hop: &Hop) -> Value {
    json!({
        "log": hop.log, "rid": hop.rid, "leaf": hop.leaf, "index": hop.index,
        "kind": hop.kind, "amount": money_json(&hop.amount), "drawn": money_json(&hop.drawn),
        "verified": hop.problem.is_none(), "problem": hop.problem,
        "funded_by": hop.sources.iter().map(hop_json).collect::<Vec<_>>(),
    })
}
