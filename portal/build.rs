//! Embeds every file under `assets/` into the crate: writes `assets.rs` (a table of paths,
//! content types, bytes and gzipped bytes) into `OUT_DIR`, gzipping each compressible file once
//! here so that the node never compresses at run time.

use std::io::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let assets = root.join("assets");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=assets");
    let mut files = Vec::new();
    walk(&assets, &mut files);
    files.sort();
    let mut table = String::from("&[\n");
    for (n, file) in files.iter().enumerate() {
        println!("cargo:rerun-if-changed={}", file.display());
        let rel = file
            .strip_prefix(&assets)
            .expect("under assets")
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(file).expect("read asset");
        let gzip = if compressible(&rel) {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            encoder.write_all(&bytes).expect("gzip");
            let gz = encoder.finish().expect("gzip");
            let path = out.join(format!("asset-{n}.gz"));
            std::fs::write(&path, gz).expect("write gzip");
            format!("Some(include_bytes!({:?}))", path.display().to_string())
        } else {
            "None".to_string()
        };
        table.push_str(&format!(
            "    RawAsset {{ path: {rel:?}, bytes: include_bytes!({:?}), gzip: {gzip} }},\n",
            file.display().to_string()
        ));
    }
    table.push_str("]\n");
    std::fs::write(out.join("assets.rs"), table).expect("write assets.rs");
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, files);
        } else if !name.ends_with(".d.ts") {
            files.push(path);
        }
    }
}

fn compressible(path: &str) -> bool {
    [".html", ".css", ".js", ".json", ".svg", ".wasm", ".txt"]
        .iter()
        .any(|ext| path.ends_with(ext))
}
