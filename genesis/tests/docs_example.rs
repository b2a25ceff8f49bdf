//! The example in docs/genesis.md is a real genesis file: it opens, and it is exactly what the
//! current code produces from the example's seeded keys, so the documented format cannot drift.

mod common;

use daylight_genesis::Genesis;

fn docs_example() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/genesis.md");
    let doc = std::fs::read_to_string(path).expect("docs/genesis.md exists");
    let start = doc
        .find("<!-- example:begin -->\n```text\n")
        .expect("example start marker")
        + "<!-- example:begin -->\n```text\n".len();
    let end = doc[start..]
        .find("```\n<!-- example:end -->")
        .expect("example end marker");
    doc[start..start + end].to_string()
}

#[test]
fn docs_example_is_what_the_code_produces_and_it_verifies() {
    let (draft, keys) = common::network_with(Some(1));
    let expected = common::sign_all(&draft, &keys).to_text();
    let example = docs_example();
    assert_eq!(
        example, expected,
        "docs/genesis.md example is stale; the current output is:\n{expected}"
    );
    let genesis = Genesis::open(example.as_bytes()).expect("example verifies");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/genesis.md");
    let doc = std::fs::read_to_string(path).expect("docs/genesis.md exists");
    assert!(
        doc.contains(&format!("Its genesis id is `{}`", genesis.id())),
        "docs/genesis.md must state the example's id {}",
        genesis.id()
    );
}
